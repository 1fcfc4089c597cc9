/* QR Code encoder (byte mode, level M, versions 1-10). See qr.h. */
#include "qr.h"

#include <string.h>

/* Level M per version (index 1..10): error-correction codewords per block, number of blocks. */
static const int ECC_PER_BLOCK[QR_MAX_VERSION + 1] = {0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26};
static const int NUM_BLOCKS[QR_MAX_VERSION + 1] = {0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5};
/* Alignment pattern centre coordinates per version (0 ends the list). */
static const int ALIGN_POS[QR_MAX_VERSION + 1][4] = {
    {0}, {0}, {6, 18, 0}, {6, 22, 0}, {6, 26, 0}, {6, 30, 0},
    {6, 34, 0}, {6, 22, 38, 0}, {6, 24, 42, 0}, {6, 26, 46, 0}, {6, 28, 50, 0},
};

#define MAX_CODEWORDS 346 /* version 10 */

typedef struct {
    qr_code *qr;
    unsigned char is_function[QR_MAX_SIZE][QR_MAX_SIZE];
} builder;

/* Number of modules available for data and error correction in a version. */
static int raw_data_modules(int ver) {
    int n = (16 * ver + 128) * ver + 64;
    if (ver >= 2) {
        int align = ver / 7 + 2;
        n -= (25 * align - 10) * align - 55;
        if (ver >= 7) n -= 36;
    }
    return n;
}

static int data_codewords(int ver) {
    return raw_data_modules(ver) / 8 - ECC_PER_BLOCK[ver] * NUM_BLOCKS[ver];
}

/* ---- Reed-Solomon over GF(2^8), primitive polynomial x^8+x^4+x^3+x^2+1 ---- */

static unsigned char gf_mul(unsigned char a, unsigned char b) {
    unsigned int r = 0;
    int i;
    for (i = 7; i >= 0; i--) {
        r = (r << 1) ^ ((r >> 7) * 0x11Du);
        if ((b >> i) & 1u) r ^= a;
    }
    return (unsigned char)r;
}

/* Generator polynomial of the given degree, highest coefficient first, leading 1 omitted. */
static void rs_generator(int degree, unsigned char *gen) {
    unsigned char root = 1;
    int i, j;
    memset(gen, 0, (size_t)degree);
    gen[degree - 1] = 1;
    for (i = 0; i < degree; i++) {
        for (j = 0; j < degree; j++) {
            gen[j] = gf_mul(gen[j], root);
            if (j + 1 < degree) gen[j] ^= gen[j + 1];
        }
        root = gf_mul(root, 2);
    }
}

static void rs_remainder(const unsigned char *data, int len, const unsigned char *gen, int degree,
                         unsigned char *rem) {
    int i, j;
    memset(rem, 0, (size_t)degree);
    for (i = 0; i < len; i++) {
        unsigned char factor = (unsigned char)(data[i] ^ rem[0]);
        memmove(rem, rem + 1, (size_t)(degree - 1));
        rem[degree - 1] = 0;
        for (j = 0; j < degree; j++) rem[j] ^= gf_mul(gen[j], factor);
    }
}

/* ---- Function patterns ---- */

static void set_function(builder *b, int x, int y, int dark) {
    b->qr->dark[y][x] = (unsigned char)(dark ? 1 : 0);
    b->is_function[y][x] = 1;
}

static void draw_finder(builder *b, int cx, int cy) {
    int dx, dy;
    for (dy = -4; dy <= 4; dy++) {
        for (dx = -4; dx <= 4; dx++) {
            int x = cx + dx, y = cy + dy;
            int dist = (dx < 0 ? -dx : dx) > (dy < 0 ? -dy : dy) ? (dx < 0 ? -dx : dx) : (dy < 0 ? -dy : dy);
            if (x < 0 || y < 0 || x >= b->qr->size || y >= b->qr->size) continue;
            set_function(b, x, y, dist != 2 && dist != 4);
        }
    }
}

static void draw_alignment(builder *b, int cx, int cy) {
    int dx, dy;
    for (dy = -2; dy <= 2; dy++) {
        for (dx = -2; dx <= 2; dx++) {
            int ax = dx < 0 ? -dx : dx, ay = dy < 0 ? -dy : dy;
            set_function(b, cx + dx, cy + dy, (ax > ay ? ax : ay) != 1);
        }
    }
}

/* Format information: level M (bits 00) and the mask, BCH(15,5) protected. */
static void draw_format(builder *b, int mask) {
    int size = b->qr->size;
    int data = (0 << 3) | mask;
    int rem = data, bits, i;
    for (i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    bits = ((data << 10) | rem) ^ 0x5412;
    for (i = 0; i <= 5; i++) set_function(b, 8, i, (bits >> i) & 1);
    set_function(b, 8, 7, (bits >> 6) & 1);
    set_function(b, 8, 8, (bits >> 7) & 1);
    set_function(b, 7, 8, (bits >> 8) & 1);
    for (i = 9; i < 15; i++) set_function(b, 14 - i, 8, (bits >> i) & 1);
    for (i = 0; i < 8; i++) set_function(b, size - 1 - i, 8, (bits >> i) & 1);
    for (i = 8; i < 15; i++) set_function(b, 8, size - 15 + i, (bits >> i) & 1);
    set_function(b, 8, size - 8, 1); /* the dark module */
}

static void draw_version(builder *b) {
    int ver = b->qr->version, rem = ver, bits, i;
    if (ver < 7) return;
    for (i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
    bits = (ver << 12) | rem;
    for (i = 0; i < 18; i++) {
        int a = b->qr->size - 11 + i % 3, c = i / 3, bit = (bits >> i) & 1;
        set_function(b, a, c, bit);
        set_function(b, c, a, bit);
    }
}

static void draw_function_patterns(builder *b) {
    int size = b->qr->size, i, j;
    const int *pos = ALIGN_POS[b->qr->version];
    for (i = 0; i < size; i++) {
        set_function(b, 6, i, i % 2 == 0);
        set_function(b, i, 6, i % 2 == 0);
    }
    draw_finder(b, 3, 3);
    draw_finder(b, size - 4, 3);
    draw_finder(b, 3, size - 4);
    for (i = 0; pos[i] != 0; i++) {
        for (j = 0; pos[j] != 0; j++) {
            int last_i = pos[i + 1] == 0, last_j = pos[j + 1] == 0;
            /* skip the three corners covered by finder patterns */
            if ((i == 0 && j == 0) || (i == 0 && last_j) || (last_i && j == 0)) continue;
            draw_alignment(b, pos[i], pos[j]);
        }
    }
    draw_format(b, 0); /* reserves the format areas; redrawn with the chosen mask */
    draw_version(b);
}

/* ---- Data ---- */

static void draw_codewords(builder *b, const unsigned char *cw, int count) {
    int size = b->qr->size, bit = 0, right, vert, j;
    for (right = size - 1; right >= 1; right -= 2) {
        if (right == 6) right = 5; /* skip the vertical timing column */
        for (vert = 0; vert < size; vert++) {
            for (j = 0; j < 2; j++) {
                int x = right - j;
                int upward = ((right + 1) & 2) == 0;
                int y = upward ? size - 1 - vert : vert;
                if (b->is_function[y][x]) continue;
                if (bit < count * 8) {
                    b->qr->dark[y][x] = (unsigned char)((cw[bit >> 3] >> (7 - (bit & 7))) & 1);
                    bit++;
                } else {
                    b->qr->dark[y][x] = 0; /* remainder bits */
                }
            }
        }
    }
}

static int mask_bit(int mask, int x, int y) {
    switch (mask) {
    case 0: return (x + y) % 2 == 0;
    case 1: return y % 2 == 0;
    case 2: return x % 3 == 0;
    case 3: return (x + y) % 3 == 0;
    case 4: return (x / 3 + y / 2) % 2 == 0;
    case 5: return x * y % 2 + x * y % 3 == 0;
    case 6: return (x * y % 2 + x * y % 3) % 2 == 0;
    default: return ((x + y) % 2 + x * y % 3) % 2 == 0;
    }
}

static void apply_mask(builder *b, int mask) {
    int x, y;
    for (y = 0; y < b->qr->size; y++)
        for (x = 0; x < b->qr->size; x++)
            if (!b->is_function[y][x] && mask_bit(mask, x, y)) b->qr->dark[y][x] ^= 1;
}

/* Module at (x, y) of a row (horizontal) or column (vertical) scan. */
static int module_at(const qr_code *qr, int line, int i, int vertical) {
    return vertical ? qr->dark[i][line] : qr->dark[line][i];
}

/* The four penalty rules of the specification; the mask with the lowest total is used. */
static long penalty(const qr_code *qr) {
    int size = qr->size, x, y, line, dir, i, dark = 0;
    long p = 0;
    static const unsigned char finder_like[2][11] = {
        {1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0}, {0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1}};
    for (dir = 0; dir < 2; dir++) {
        for (line = 0; line < size; line++) {
            int run = 1;
            for (i = 1; i <= size; i++) {
                if (i < size && module_at(qr, line, i, dir) == module_at(qr, line, i - 1, dir)) {
                    run++;
                } else {
                    if (run >= 5) p += 3 + (run - 5);
                    run = 1;
                }
            }
            for (i = -10; i < size; i++) { /* outside the symbol counts as light */
                int k, hit[2] = {1, 1};
                for (k = 0; k < 11; k++) {
                    int pos = i + k;
                    int m = (pos < 0 || pos >= size) ? 0 : module_at(qr, line, pos, dir);
                    if (m != finder_like[0][k]) hit[0] = 0;
                    if (m != finder_like[1][k]) hit[1] = 0;
                }
                p += 40L * (hit[0] + hit[1]);
            }
        }
    }
    for (y = 0; y + 1 < size; y++)
        for (x = 0; x + 1 < size; x++) {
            int c = qr->dark[y][x];
            if (c == qr->dark[y][x + 1] && c == qr->dark[y + 1][x] && c == qr->dark[y + 1][x + 1]) p += 3;
        }
    for (y = 0; y < size; y++)
        for (x = 0; x < size; x++) dark += qr->dark[y][x];
    {
        int total = size * size;
        int deviation = dark * 20 - total * 10; /* 20 * (dark/total - 1/2) * total */
        if (deviation < 0) deviation = -deviation;
        p += 10L * (deviation / total);
    }
    return p;
}

int qr_encode(const unsigned char *data, size_t len, qr_code *qr) {
    static builder b;
    unsigned char codewords[MAX_CODEWORDS], out[MAX_CODEWORDS], gen[32], ecc[32];
    int ver, cap = 0, count_bits = 8, nbits = 0, i, mask, best_mask = 0, total, nblocks, ecc_len;
    int short_blocks, short_len, k, pos;
    long best = -1;
    for (ver = 1; ver <= QR_MAX_VERSION; ver++) {
        count_bits = ver <= 9 ? 8 : 16;
        cap = data_codewords(ver);
        if (4 + count_bits + 8 * (long)len <= cap * 8L) break;
    }
    if (ver > QR_MAX_VERSION) return -1;

    /* Bit stream: mode 0100 (byte), count, data, terminator, padding. */
    memset(codewords, 0, sizeof codewords);
#define PUT_BITS(val, n)                                                                     \
    do {                                                                                     \
        int bi_;                                                                             \
        for (bi_ = (n)-1; bi_ >= 0; bi_--, nbits++)                                          \
            if (((unsigned long)(val) >> bi_) & 1u) codewords[nbits >> 3] |= (unsigned char)(0x80u >> (nbits & 7)); \
    } while (0)
    PUT_BITS(4, 4);
    PUT_BITS(len, count_bits);
    for (i = 0; i < (int)len; i++) PUT_BITS(data[i], 8);
    for (i = 0; i < 4 && nbits < cap * 8; i++) nbits++; /* terminator zeros */
    nbits = (nbits + 7) & ~7;
    for (i = nbits / 8; i < cap; i++) codewords[i] = (unsigned char)((i - nbits / 8) % 2 == 0 ? 0xEC : 0x11);
#undef PUT_BITS

    /* Split into blocks, add Reed-Solomon codewords, interleave. */
    total = raw_data_modules(ver) / 8;
    nblocks = NUM_BLOCKS[ver];
    ecc_len = ECC_PER_BLOCK[ver];
    short_blocks = nblocks - total % nblocks;
    short_len = total / nblocks; /* codewords (data + ecc) in a short block */
    rs_generator(ecc_len, gen);
    pos = 0;
    for (i = 0; i <= short_len - ecc_len; i++) { /* data columns; the last only in long blocks */
        int start = 0;
        for (k = 0; k < nblocks; k++) {
            int dlen = short_len - ecc_len + (k >= short_blocks ? 1 : 0);
            if (i < dlen) out[pos++] = codewords[start + i];
            start += dlen;
        }
    }
    {
        int start = 0;
        for (k = 0; k < nblocks; k++) {
            int dlen = short_len - ecc_len + (k >= short_blocks ? 1 : 0);
            rs_remainder(codewords + start, dlen, gen, ecc_len, ecc);
            for (i = 0; i < ecc_len; i++) out[pos + i * nblocks + k] = ecc[i];
            start += dlen;
        }
    }

    memset(&b, 0, sizeof b);
    memset(qr, 0, sizeof *qr);
    b.qr = qr;
    qr->version = ver;
    qr->size = 17 + 4 * ver;
    draw_function_patterns(&b);
    draw_codewords(&b, out, total);
    for (mask = 0; mask < 8; mask++) {
        long p;
        apply_mask(&b, mask);
        draw_format(&b, mask);
        p = penalty(qr);
        if (best < 0 || p < best) {
            best = p;
            best_mask = mask;
        }
        apply_mask(&b, mask); /* XOR again: undo */
    }
    apply_mask(&b, best_mask);
    draw_format(&b, best_mask);
    return 0;
}

static int dark_or_quiet(const qr_code *qr, int x, int y) {
    if (x < 0 || y < 0 || x >= qr->size || y >= qr->size) return 0;
    return qr->dark[y][x];
}

void qr_print_utf8(const qr_code *qr, int quiet, FILE *f) {
    int x, y;
    for (y = -quiet; y < qr->size + quiet; y += 2) {
        for (x = -quiet; x < qr->size + quiet; x++) {
            int top = dark_or_quiet(qr, x, y), bottom = dark_or_quiet(qr, x, y + 1);
            if (y + 1 >= qr->size + quiet) bottom = 1; /* below the symbol: terminal background */
            fputs(!top && !bottom ? "\xE2\x96\x88" : !top ? "\xE2\x96\x80" : !bottom ? "\xE2\x96\x84" : " ", f);
        }
        fputc('\n', f);
    }
}

int qr_write_pbm(const qr_code *qr, int scale, const char *path) {
    FILE *f = fopen(path, "w");
    int x, y, side = (qr->size + 8) * scale;
    if (!f) return -1;
    fprintf(f, "P1\n%d %d\n", side, side);
    for (y = 0; y < side; y++) {
        for (x = 0; x < side; x++) fputs(dark_or_quiet(qr, x / scale - 4, y / scale - 4) ? "1 " : "0 ", f);
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -1;
}
