/* Includes emomix.h and nothing else: compiling this file with
 *     cc -std=c99 -Wall -Wextra -pedantic -Werror -c header_only.c -I"$(emomix config --include)"
 * proves the header is valid, warning-free C99 on its own (tests/test_samples.py does it). */
#include <emomix.h>

int emx_header_only_abi(void) { return EMX_ABI_VERSION; }
