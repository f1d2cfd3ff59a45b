#include "harness.hpp"

HARNESS_MAIN
