/*
 * fuzz_flush.h - the flushing side's fuzz stage (fuzz_flush.c): counter
 * summing, timer packing and sampling, checked against what a receiver
 * reads.
 */
#ifndef FUZZ_FLUSH_H
#define FUZZ_FLUSH_H

#include <stddef.h>
#include <stdint.h>

/* Runs on any input; aborts with a report when a check fails. */
void fuzz_flush(const uint8_t *data, size_t size);

/* fuzz_names.c's report of a failed input: n bytes of s, escaped, under
 * a label (the first 400, then "..."). */
void fuzz_put_escaped(const char *label, const char *s, size_t n);

#endif /* FUZZ_FLUSH_H */
