/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for libFuzzer's driver, so every fuzz target also runs in the
 * ordinary (gcc, sanitizer) builds: it replays the files given as
 * arguments, then feeds a fixed number of pseudo-random inputs, half of
 * them mutations of the replayed ones, from a fixed seed so a failure
 * reproduces. Usage: fuzz-X [-n ITERATIONS] [FILE...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX	4200

static uint64_t	fuzz_state = 0x9e3779b97f4a7c15ull;

static uint32_t
fuzz_rand(void)
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 7;
	fuzz_state ^= fuzz_state << 17;
	return (uint32_t)fuzz_state;
}

int
main(int argc, char *argv[])
{
	static uint8_t	 seeds[16][FUZZ_MAX], buf[FUZZ_MAX];
	size_t		 seedlen[16], nseeds = 0, len, i;
	long		 n = 200000, it;
	int		 a = 1;
	FILE		*f;

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		n = strtol(argv[2], NULL, 10);
		a = 3;
	}
	for (; a < argc; a++) {
		if ((f = fopen(argv[a], "rb")) == NULL) {
			perror(argv[a]);
			return 1;
		}
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		if (nseeds < 16) {
			memcpy(seeds[nseeds], buf, len);
			seedlen[nseeds++] = len;
		}
	}
	for (it = 0; it < n; it++) {
		if (nseeds > 0 && (it & 1)) {
			size_t s = fuzz_rand() % nseeds, flips;

			len = seedlen[s];
			memcpy(buf, seeds[s], len);
			flips = 1 + fuzz_rand() % 4;
			for (i = 0; i < flips && len > 0; i++)
				buf[fuzz_rand() % len] = (uint8_t)fuzz_rand();
			if (fuzz_rand() % 4 == 0 && len > 1)
				len = fuzz_rand() % len;
		} else {
			len = fuzz_rand() % 300;
			for (i = 0; i < len; i++)
				buf[i] = (uint8_t)fuzz_rand();
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("fuzz: %ld inputs, no crash\n", n);
	return 0;
}
