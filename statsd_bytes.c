/*
 * statsd_bytes.c - the digit table of the per-request writers.
 */
#include "statsd_bytes.h"

/* "000".."999": three digits at a time instead of one division each */
const char statsd_digits3[1000][3] = {
#define D1(a, b) {a, b, '0'}, {a, b, '1'}, {a, b, '2'}, {a, b, '3'}, \
    {a, b, '4'}, {a, b, '5'}, {a, b, '6'}, {a, b, '7'}, {a, b, '8'}, {a, b, '9'}
#define D2(a) D1(a, '0'), D1(a, '1'), D1(a, '2'), D1(a, '3'), D1(a, '4'), \
    D1(a, '5'), D1(a, '6'), D1(a, '7'), D1(a, '8'), D1(a, '9')
    D2('0'), D2('1'), D2('2'), D2('3'), D2('4'),
    D2('5'), D2('6'), D2('7'), D2('8'), D2('9')
#undef D2
#undef D1
};
