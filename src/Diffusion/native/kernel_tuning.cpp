// The table behind kernel_tuning.h and its cache file: one "key choice" line per shape, appended as shapes are
// measured (processes sharing the file never interleave within a line), read back when a process starts.
#include "kernel_tuning.h"
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <unordered_map>

namespace {

struct Table {
  std::mutex lock;
  std::unordered_map<std::string, std::string> choices;
  std::unordered_map<std::string, std::string> forced;  // by kind ("conv", "linear", "attention"), for tests
  std::string path;  // empty: kept in memory only
};

Table& table() {
  static Table instance;
  return instance;
}

}  // namespace

namespace ft::tuning {

std::optional<std::string> find(const std::string& key) {
  Table& t = table();
  std::lock_guard<std::mutex> hold(t.lock);
  if (auto forced = t.forced.find(key.substr(0, key.find(':'))); forced != t.forced.end()) return forced->second;
  auto found = t.choices.find(key);
  if (found == t.choices.end()) return std::nullopt;
  return found->second;
}

std::optional<int> index_of(const std::string& name, const std::vector<const char*>& names) {
  for (size_t i = 0; i < names.size(); ++i)
    if (name == names[i]) return static_cast<int>(i);
  return std::nullopt;
}

std::optional<int> fixed_by_environment(const char* variable, const std::vector<const char*>& names) {
  const char* setting = std::getenv(variable);
  if (!setting || !*setting || std::string(setting) == "auto") return std::nullopt;
  if (auto index = index_of(setting, names)) return index;
  std::string expected = "auto";
  for (const char* name : names) expected += std::string(", ") + name;
  throw std::invalid_argument(std::string(variable) + " must be one of " + expected + ", not " + setting);
}

void remember(const std::string& key, const std::string& choice) {
  Table& t = table();
  std::lock_guard<std::mutex> hold(t.lock);
  t.choices[key] = choice;
  if (t.path.empty()) return;
  std::ofstream file(t.path, std::ios::app);
  file << key << ' ' << choice << '\n';
}

}  // namespace ft::tuning

// Reads the choices cached in `path` (a missing file is an empty cache; later lines win) and appends new ones to it.
FT_EXPORT int ft_tuning_open(const char* path) {
  return ft::guard([&] {
    Table& t = table();
    std::lock_guard<std::mutex> hold(t.lock);
    t.path = path ? path : "";
    std::ifstream file(t.path);
    std::string key, choice;
    while (file >> key >> choice) t.choices[key] = choice;
  });
}

// Forces `choice` for every shape of `kind` ("conv", "linear", "attention") in this process, in memory only, so a test
// can check each algorithm rather than only the one measured fastest; a null choice ends it.
FT_EXPORT int ft_tuning_force(const char* kind, const char* choice) {
  return ft::guard([&] {
    Table& t = table();
    std::lock_guard<std::mutex> hold(t.lock);
    if (choice) t.forced[kind] = choice;
    else t.forced.erase(kind);
  });
}

// How many shapes have a measured choice.
FT_EXPORT int ft_tuning_count(int* count) {
  return ft::guard([&] {
    Table& t = table();
    std::lock_guard<std::mutex> hold(t.lock);
    *count = static_cast<int>(t.choices.size());
  });
}
