/*
 * statsd_sample.h - sampling: which lines of a request are sent, and
 * their sample rate.
 *
 * With a rate r < 1, a good request's lines (status below 400) are sent
 * with probability r, each carrying "|@r" so the receiver scales its
 * counts by 1/r; a bad request's lines are always sent, at rate 1 (exact
 * error counts). The responses.time line (the last service line) draws
 * on its own, at rate r over all requests, so the response time is a
 * uniform sample of every request, good or bad.
 *
 * The random source is per thread (xorshift64*, no lock), each thread's
 * stream derived from one seed per child process. No allocation, no
 * httpd types.
 */
#ifndef STATSD_SAMPLE_H
#define STATSD_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STATSD_RATE_MIN 0.000001          /* "|@0.000001" */
#define STATSD_RATE_TEXT_MAX 16          /* "|@" and the rate */

typedef struct {
    int all;                 /* rate 1: every line, no "|@" */
    uint32_t threshold;      /* a draw below it is kept */
    char text[STATSD_RATE_TEXT_MAX];   /* "|@0.1" */
    size_t text_len;
} statsd_rate;

/* Parse a rate "0.1", ".25", "1": STATSD_RATE_MIN <= r <= 1, decimal
 * with at most six decimals (no exponent, sign or spaces). Returns 0 or
 * -1. */
int statsd_sample_parse(const char *arg, statsd_rate *out);

/* The seed of this process's streams (call before requests are served);
 * each thread's stream is drawn from it and the order in which threads
 * first draw. */
void statsd_sample_seed(uint64_t seed);

/* One uniform 32-bit draw from the calling thread's stream. */
uint32_t statsd_sample_draw(void);

/* The lines of one request ('\n'-joined, n_lines of them), sampled at
 * rate *r: bad says the status is 400 or above, time_line is the index of
 * the responses.time line (-1: none), which draws on its own; every other
 * line follows the request's draw. What is kept is written to out (which needs
 * len + n_lines * r->text_len bytes) with "|@r" after each line's type
 * (before tags at the end of a line). Returns the bytes written (0: the
 * request sent nothing); *n_out gets the lines. */
size_t statsd_sample_lines(const statsd_rate *r, const char *lines,
                           size_t len, unsigned n_lines, int bad,
                           long time_line, char *out, unsigned *n_out);

#ifdef __cplusplus
}
#endif
#endif /* STATSD_SAMPLE_H */
