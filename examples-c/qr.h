/*
 * A tiny QR Code encoder for the cashier example: byte mode, error correction level M,
 * versions 1-10 (up to 213 bytes: enough for any code_url). Written for this project from
 * the QR Code specification (ISO/IEC 18004); no third-party code.
 */
#ifndef CLOUDPAY_EXAMPLE_QR_H
#define CLOUDPAY_EXAMPLE_QR_H

#include <stdio.h>

#define QR_MAX_VERSION 10
#define QR_MAX_SIZE (17 + 4 * QR_MAX_VERSION)

typedef struct {
    int version;
    int size;                                      /* modules per side: 17 + 4 * version */
    unsigned char dark[QR_MAX_SIZE][QR_MAX_SIZE];  /* [row][column], 1 = dark module */
} qr_code;

/* Encodes `len` bytes. Returns 0, or -1 when the text does not fit version 10-M. */
int qr_encode(const unsigned char *data, size_t len, qr_code *qr);

/* Prints the symbol with UTF-8 half blocks (two rows per line, light modules drawn as
 * blocks, for the usual dark terminal background) and a quiet zone of `quiet` modules. */
void qr_print_utf8(const qr_code *qr, int quiet, FILE *f);

/* Writes a plain PBM image (`scale` pixels per module, quiet zone 4): lets a test decode it. */
int qr_write_pbm(const qr_code *qr, int scale, const char *path);

#endif
