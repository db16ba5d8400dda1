// Kernel choices measured on the running CPU (conv_tuning.cpp, attention.cpp), kept per shape in one table that the
// managed side backs with a file per CPU kind and library versions, so each shape is measured once per machine.
#pragma once
#include "ft_common.h"
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ft::tuning {

// The choice remembered for `key` ("conv:…", "attention:…"), if any; a choice forced for the key's kind wins.
std::optional<std::string> find(const std::string& key);

// The index of `name` in `names`, or nullopt.
std::optional<int> index_of(const std::string& name, const std::vector<const char*>& names);

// The choice that environment variable `variable` fixes: nullopt when it is unset, empty or "auto", else the index
// of its value in `names`; any other value is an invalid_argument naming the variable and what it takes.
std::optional<int> fixed_by_environment(const char* variable, const std::vector<const char*>& names);

// Remembers a choice and appends it to the cache file.
void remember(const std::string& key, const std::string& choice);

// Runs each of `count` candidates twice on the real input (the first run pays for primitive creation and fresh
// pages, so only the second is timed) and returns the index of the fastest. Each result is dropped as soon as it is
// timed, so measuring holds no more memory than one run; the caller runs the winner once more for its result.
template <class Run>
int fastest(int count, Run run) {
  double best_time = 0;
  int best = 0;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < count; ++i) {
      auto start = std::chrono::steady_clock::now();
      run(i).reset();
      double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (round == 1 && (i == 0 || t < best_time)) {
        best_time = t;
        best = i;
      }
    }
  }
  return best;
}

}  // namespace ft::tuning
