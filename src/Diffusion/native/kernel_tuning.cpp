// The table behind kernel_tuning.h and its cache file: one "key choice" line per shape, appended as shapes are
// measured (processes sharing the file never interleave within a line), read back when a process starts.
#include "kernel_tuning.h"
#include <fstream>
#include <mutex>
#include <unordered_map>

namespace {

struct Table {
  std::mutex lock;
  std::unordered_map<std::string, std::string> choices;
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
  auto found = t.choices.find(key);
  if (found == t.choices.end()) return std::nullopt;
  return found->second;
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

// How many shapes have a measured choice.
FT_EXPORT int ft_tuning_count(int* count) {
  return ft::guard([&] {
    Table& t = table();
    std::lock_guard<std::mutex> hold(t.lock);
    *count = static_cast<int>(t.choices.size());
  });
}
