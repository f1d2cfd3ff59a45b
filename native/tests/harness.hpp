// A header-only test harness: TEST(name) registers a case, CHECK*/REQUIRE* report failures.
// Usage: `emomix_core_tests` runs every case; `emomix_core_tests <name>...` runs the named ones
// (ctest registers one test per case). Exit status 0 when every selected case passed, 77 when
// all of them were skipped, 1 otherwise.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace harness {

struct Case {
  const char* name;
  void (*fn)();
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

inline int& failures() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

struct Abort {};  // thrown by REQUIRE to end the current case
struct Skip {     // thrown by SKIP: the case cannot run here (e.g. no GPU)
  std::string why;
};

// ctest treats this exit status as "skipped" (SKIP_RETURN_CODE).
inline constexpr int kSkipped = 77;

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what.c_str());
}

inline int run(int argc, char** argv) {
  int ran = 0, skipped = 0;
  for (const Case& c : registry()) {
    bool selected = argc <= 1;
    for (int i = 1; i < argc; ++i) selected = selected || std::strcmp(argv[i], c.name) == 0;
    if (!selected) continue;
    ++ran;
    const int before = failures();
    try {
      c.fn();
    } catch (const Abort&) {
    } catch (const Skip& s) {
      ++skipped;
      std::fprintf(stderr, "[ SKIP ] %s: %s\n", c.name, s.why.c_str());
      continue;
    } catch (const std::exception& e) {
      fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    }
    std::fprintf(stderr, "[%s] %s\n", failures() == before ? "  OK  " : " FAIL ", c.name);
  }
  if (ran == 0) {
    std::fprintf(stderr, "no test case matched\n");
    return 2;
  }
  if (failures() != 0) return 1;
  return skipped == ran ? kSkipped : 0;
}

}  // namespace harness

#define HARNESS_CAT2(a, b) a##b
#define HARNESS_CAT(a, b) HARNESS_CAT2(a, b)
#define TEST(name)                                                           \
  static void test_##name();                                                 \
  static const harness::Register HARNESS_CAT(reg_, name)(#name, &test_##name); \
  static void test_##name()

#define SKIP(why) throw harness::Skip{why}
#define CHECK(cond) \
  ((cond) ? (void)0 : harness::fail(__FILE__, __LINE__, #cond))
#define REQUIRE(cond)                                 \
  do {                                                \
    if (!(cond)) {                                    \
      harness::fail(__FILE__, __LINE__, #cond);       \
      throw harness::Abort{};                         \
    }                                                 \
  } while (0)
#define CHECK_NEAR(a, b, tol)                                                                  \
  do {                                                                                         \
    const double va_ = (a), vb_ = (b);                                                         \
    if (!(std::fabs(va_ - vb_) <= (tol)))                                                      \
      harness::fail(__FILE__, __LINE__,                                                        \
                    std::string(#a " ~ " #b ": ") + std::to_string(va_) + " vs " +             \
                        std::to_string(vb_));                                                  \
  } while (0)
// Checks that `expr` throws ExType whose what() contains `needle`.
#define CHECK_THROWS_WITH(ExType, expr, needle)                                                \
  do {                                                                                         \
    bool thrown_ = false;                                                                      \
    try {                                                                                      \
      (void)(expr);                                                                            \
    } catch (const ExType& e_) {                                                               \
      thrown_ = true;                                                                          \
      if (std::string(e_.what()).find(needle) == std::string::npos)                           \
        harness::fail(__FILE__, __LINE__,                                                      \
                      std::string(#expr ": message '") + e_.what() + "' lacks '" + (needle) +  \
                          "'");                                                                \
    }                                                                                          \
    if (!thrown_) harness::fail(__FILE__, __LINE__, #expr " did not throw " #ExType);         \
  } while (0)

#define HARNESS_MAIN \
  int main(int argc, char** argv) { return harness::run(argc, argv); }
