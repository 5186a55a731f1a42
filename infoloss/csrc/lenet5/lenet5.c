/*
 * lenet5.c - the course's LeNet-5 in plain C99, double precision.
 *
 * Written for the course "Information theory behind classification losses" from the
 * public description of LeNet-5 and of the C program in the case study (chapter 9).
 * It keeps the two features that make that case study interesting:
 *
 *   1. the weights are updated with a PLUS:  w += (ALPHA / batch) * delta_sum,
 *      so the per-example "delta" must be the NEGATIVE gradient of the loss;
 *   2. the output-layer delta is one function, softmax(input, loss, label, count),
 *      chosen at compile time with -DDELTA=...:
 *        mse          the negative gradient of 1/2 ||onehot - softmax(z)||^2 (the original)
 *        ce_textbook  p - onehot  (the textbook cross-entropy gradient: wrong sign here)
 *        ce_fixed     onehot - p  (the negative cross-entropy gradient: the fix)
 *        custom       the body of the function is #included from DELTA_BODY ("file.h")
 *
 * Network: 28x28 input padded to 32x32 -> conv 5x5 (6 maps) -> ReLU -> max pool 2x2 ->
 * conv 5x5 (16 maps, every input map) -> ReLU -> max pool 2x2 -> conv 5x5 (120) -> ReLU
 * -> fully connected 120 -> 10 -> ReLU. The backward pass ignores the ReLU on the
 * outputs (the delta from softmax() is used as the error of the output units directly),
 * as the case study's program does.
 *
 * Usage: lenet5 --train-images F --train-labels F --test-images F --test-labels F
 *               [--alpha A] [--seed S] [--epochs E] [--batch B] [--log FILE]
 *               [--eval-train] [--quiet]
 * The log is JSON lines: one "init" record, one "update" record per weight update
 * (batch loss, parameter norm) and one "epoch" record per epoch (test accuracy, ...).
 * The init and epoch records also describe the network on the test set: how many units
 * of each ReLU layer are positive for at least one test image ("alive"), the share of
 * test images whose ten outputs are all exactly 0 or contain a NaN, the largest spread
 * of an output over the test images, and how many test images are predicted as each class.
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- compile-time choices ------------------------------------------------------- */
#define mse 1
#define ce_textbook 2
#define ce_fixed 3
#define custom 4
#ifndef DELTA
#define DELTA mse
#endif
#ifndef ALPHA
#define ALPHA 0.5
#endif
#ifndef OUTPUT_RELU
#define OUTPUT_RELU 1
#endif

/* ---- sizes ------------------------------------------------------------------------ */
#define OUTPUT 10
#define SIDE 32            /* padded input side */
#define KS 5               /* kernel side */
#define N1 6               /* maps after conv 1 */
#define N3 16              /* maps after conv 2 */
#define N5 120             /* units after conv 3 */
#define S1 28              /* conv 1 output side */
#define S2 14              /* pool 1 output side */
#define S3 10              /* conv 2 output side */
#define S4 5               /* pool 2 output side */

typedef struct {
    double w1[N1][KS][KS];
    double b1[N1];
    double w3[N3][N1][KS][KS];
    double b3[N3];
    double w5[N5][N3][KS][KS];
    double b5[N5];
    double w6[OUTPUT][N5];
    double b6[OUTPUT];
} Params;

typedef struct {
    double x[SIDE][SIDE];
    double c1[N1][S1][S1];
    double p2[N1][S2][S2];
    double c3[N3][S3][S3];
    double p4[N3][S4][S4];
    double c5[N5];
    double out[OUTPUT];
} Acts;

#define NPARAMS (sizeof(Params) / sizeof(double))

/* ---- the output delta (the function of the case study) ---------------------------- */
static inline void softmax(double input[OUTPUT], double loss[OUTPUT], int label, int count)
{
#if DELTA == custom
#include DELTA_BODY
#else
    double top = input[0];
    for (int i = 1; i < count; ++i)
        if (input[i] > top) top = input[i];
    double total = 0;
    for (int i = 0; i < count; ++i) {
        loss[i] = exp(input[i] - top);
        total += loss[i];
    }
    for (int i = 0; i < count; ++i) loss[i] /= total;   /* loss now holds p */
#if DELTA == mse
    /* -d/dz 1/2 ||onehot - p||^2 = p_i ((i==label) - p_i - (p_label - sum_k p_k^2)) */
    double sq = 0;
    for (int i = 0; i < count; ++i) sq += loss[i] * loss[i];
    double shift = loss[label] - sq;
    for (int i = 0; i < count; ++i) loss[i] *= (i == label) - loss[i] - shift;
#elif DELTA == ce_textbook
    for (int i = 0; i < count; ++i) loss[i] = loss[i] - (i == label);
#elif DELTA == ce_fixed
    for (int i = 0; i < count; ++i) loss[i] = (i == label) - loss[i];
#else
#error "DELTA must be mse, ce_textbook, ce_fixed or custom"
#endif
#endif
}

/* ---- random numbers (splitmix64) -------------------------------------------------- */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double rng_uniform(void) { return (rng_next() >> 11) * (1.0 / 9007199254740992.0); }

/* ---- IDX files --------------------------------------------------------------------- */
static uint32_t read_be32(FILE *f, const char *path)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) {
        fprintf(stderr, "lenet5: %s: truncated IDX header\n", path);
        exit(2);
    }
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* Reads an IDX file of unsigned bytes with `ndim` dimensions; returns the data. */
static unsigned char *read_idx(const char *path, int ndim, uint32_t dims[3])
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lenet5: cannot open %s\n", path);
        exit(2);
    }
    uint32_t magic = read_be32(f, path);
    if ((magic >> 8) != 0x08 || (int)(magic & 0xff) != ndim) {
        fprintf(stderr, "lenet5: %s: expected an IDX ubyte file with %d dimension(s), "
                        "magic is 0x%08x\n", path, ndim, magic);
        exit(2);
    }
    size_t n = 1;
    for (int d = 0; d < ndim; ++d) {
        dims[d] = read_be32(f, path);
        n *= dims[d];
    }
    unsigned char *data = malloc(n ? n : 1);
    if (!data || fread(data, 1, n, f) != n) {
        fprintf(stderr, "lenet5: %s: truncated IDX data\n", path);
        exit(2);
    }
    fclose(f);
    return data;
}

typedef struct {
    int n, rows, cols;
    unsigned char *pixels;
    unsigned char *labels;
} Dataset;

static Dataset load_dataset(const char *images, const char *labels)
{
    uint32_t di[3], dl[3];
    Dataset d;
    d.pixels = read_idx(images, 3, di);
    d.labels = read_idx(labels, 1, dl);
    if (di[0] != dl[0]) {
        fprintf(stderr, "lenet5: %s has %u images but %s has %u labels\n", images, di[0],
                labels, dl[0]);
        exit(2);
    }
    if (di[1] > SIDE || di[2] > SIDE || di[1] == 0 || di[2] == 0) {
        fprintf(stderr, "lenet5: images must be at most %dx%d, got %ux%u\n", SIDE, SIDE,
                di[1], di[2]);
        exit(2);
    }
    d.n = (int)di[0];
    d.rows = (int)di[1];
    d.cols = (int)di[2];
    for (int i = 0; i < d.n; ++i)
        if (d.labels[i] >= OUTPUT) {
            fprintf(stderr, "lenet5: label %d of %s is %d, not in 0..9\n", i, labels,
                    d.labels[i]);
            exit(2);
        }
    return d;
}

/* Standardise one image (zero mean, unit deviation) and centre it in the padded canvas. */
static void load_input(const Dataset *d, int idx, double x[SIDE][SIDE])
{
    const unsigned char *img = d->pixels + (size_t)idx * d->rows * d->cols;
    int npx = d->rows * d->cols;
    double mean = 0, var = 0;
    for (int k = 0; k < npx; ++k) mean += img[k];
    mean /= npx;
    for (int k = 0; k < npx; ++k) var += (img[k] - mean) * (img[k] - mean);
    double sd = sqrt(var / npx);
    if (sd == 0) sd = 1;
    memset(x, 0, sizeof(double) * SIDE * SIDE);
    int r0 = (SIDE - d->rows) / 2, q0 = (SIDE - d->cols) / 2;
    for (int r = 0; r < d->rows; ++r)
        for (int q = 0; q < d->cols; ++q) x[r0 + r][q0 + q] = (img[r * d->cols + q] - mean) / sd;
}

/* ---- layers ------------------------------------------------------------------------- */
static inline double relu(double v) { return v > 0 ? v : 0; }

/* valid convolution of nin maps (side sin) with kernels w[nout][nin][KS][KS] */
#define CONV_FORWARD(in, out, w, b, nin, nout, sout)                                       \
    for (int o = 0; o < (nout); ++o) {                                                      \
        for (int y = 0; y < (sout); ++y)                                                    \
            for (int x = 0; x < (sout); ++x) (out)[o][y][x] = (b)[o];                       \
        for (int i = 0; i < (nin); ++i)                                                     \
            for (int ky = 0; ky < KS; ++ky)                                                 \
                for (int kx = 0; kx < KS; ++kx) {                                           \
                    double wv = (w)[o][i][ky][kx];                                          \
                    for (int y = 0; y < (sout); ++y)                                        \
                        for (int x = 0; x < (sout); ++x)                                    \
                            (out)[o][y][x] += wv * (in)[i][y + ky][x + kx];                 \
                }                                                                           \
        for (int y = 0; y < (sout); ++y)                                                    \
            for (int x = 0; x < (sout); ++x) (out)[o][y][x] = relu((out)[o][y][x]);         \
    }

#define POOL_FORWARD(in, out, n, sout)                                                     \
    for (int c = 0; c < (n); ++c)                                                           \
        for (int y = 0; y < (sout); ++y)                                                    \
            for (int x = 0; x < (sout); ++x) {                                              \
                double m = (in)[c][2 * y][2 * x];                                           \
                if ((in)[c][2 * y][2 * x + 1] > m) m = (in)[c][2 * y][2 * x + 1];           \
                if ((in)[c][2 * y + 1][2 * x] > m) m = (in)[c][2 * y + 1][2 * x];           \
                if ((in)[c][2 * y + 1][2 * x + 1] > m) m = (in)[c][2 * y + 1][2 * x + 1];   \
                (out)[c][y][x] = m;                                                         \
            }

static void forward(const Params *p, Acts *a)
{
    double(*img)[SIDE][SIDE] = &a->x; /* one input map */
    CONV_FORWARD(img, a->c1, ((const double(*)[1][KS][KS])p->w1), p->b1, 1, N1, S1)
    POOL_FORWARD(a->c1, a->p2, N1, S2)
    CONV_FORWARD(a->p2, a->c3, p->w3, p->b3, N1, N3, S3)
    POOL_FORWARD(a->c3, a->p4, N3, S4)
    for (int o = 0; o < N5; ++o) {
        double s = p->b5[o];
        const double *w = &p->w5[o][0][0][0];
        const double *in = &a->p4[0][0][0];
        for (int k = 0; k < N3 * KS * KS; ++k) s += w[k] * in[k];
        a->c5[o] = relu(s);
    }
    for (int j = 0; j < OUTPUT; ++j) {
        double s = p->b6[j];
        for (int i = 0; i < N5; ++i) s += p->w6[j][i] * a->c5[i];
#if OUTPUT_RELU
        a->out[j] = relu(s);
#else
        a->out[j] = s;
#endif
    }
}

/* error (already multiplied by the ReLU derivative) of a conv output -> weight sums and
 * the error of the conv input */
#define CONV_BACKWARD(in, din, dout, w, dw, db, nin, nout, sout)                          \
    for (int o = 0; o < (nout); ++o) {                                                      \
        for (int y = 0; y < (sout); ++y)                                                    \
            for (int x = 0; x < (sout); ++x) (db)[o] += (dout)[o][y][x];                    \
        for (int i = 0; i < (nin); ++i)                                                     \
            for (int ky = 0; ky < KS; ++ky)                                                 \
                for (int kx = 0; kx < KS; ++kx) {                                           \
                    double wv = (w)[o][i][ky][kx], gs = 0;                                 \
                    for (int y = 0; y < (sout); ++y)                                        \
                        for (int x = 0; x < (sout); ++x) {                                  \
                            gs += (dout)[o][y][x] * (in)[i][y + ky][x + kx];                \
                            if (din) (din)[i][y + ky][x + kx] += wv * (dout)[o][y][x];      \
                        }                                                                   \
                    (dw)[o][i][ky][kx] += gs;                                               \
                }                                                                           \
    }

/* route the error of a pooled map to the position of the maximum */
#define POOL_BACKWARD(in, dpool, din, n, sout)                                             \
    for (int c = 0; c < (n); ++c)                                                           \
        for (int y = 0; y < (sout); ++y)                                                    \
            for (int x = 0; x < (sout); ++x) {                                              \
                int by = 2 * y, bx = 2 * x;                                                 \
                double m = (in)[c][by][bx];                                                 \
                for (int u = 0; u < 2; ++u)                                                 \
                    for (int v = 0; v < 2; ++v)                                             \
                        if ((in)[c][2 * y + u][2 * x + v] > m) {                            \
                            m = (in)[c][2 * y + u][2 * x + v];                              \
                            by = 2 * y + u;                                                 \
                            bx = 2 * x + v;                                                 \
                        }                                                                   \
                (din)[c][by][bx] = (dpool)[c][y][x];                                        \
            }

typedef struct {
    double c1[N1][S1][S1];
    double p2[N1][S2][S2];
    double c3[N3][S3][S3];
    double p4[N3][S4][S4];
    double c5[N5];
} Errors;

/* Adds this example's contribution (the delta times the inputs) to the sums in g. */
static void backward(const Params *p, const Acts *a, const double delta[OUTPUT], Params *g,
                     Errors *e)
{
    memset(e, 0, sizeof(*e));
    for (int j = 0; j < OUTPUT; ++j) {
        g->b6[j] += delta[j];
        for (int i = 0; i < N5; ++i) {
            g->w6[j][i] += delta[j] * a->c5[i];
            e->c5[i] += p->w6[j][i] * delta[j];
        }
    }
    for (int i = 0; i < N5; ++i) e->c5[i] *= a->c5[i] > 0;
    {
        double *dp4 = &e->p4[0][0][0];
        const double *in = &a->p4[0][0][0];
        for (int o = 0; o < N5; ++o) {
            double d = e->c5[o];
            if (d == 0) continue;
            g->b5[o] += d;
            double *gw = &g->w5[o][0][0][0];
            const double *w = &p->w5[o][0][0][0];
            for (int k = 0; k < N3 * KS * KS; ++k) {
                gw[k] += d * in[k];
                dp4[k] += d * w[k];
            }
        }
        for (int k = 0; k < N3 * S4 * S4; ++k) dp4[k] *= in[k] > 0;
    }
    POOL_BACKWARD(a->c3, e->p4, e->c3, N3, S4)
    CONV_BACKWARD(a->p2, e->p2, e->c3, p->w3, g->w3, g->b3, N1, N3, S3)
    {
        double *dp2 = &e->p2[0][0][0];
        const double *in = &a->p2[0][0][0];
        for (int k = 0; k < N1 * S2 * S2; ++k) dp2[k] *= in[k] > 0;
    }
    POOL_BACKWARD(a->c1, e->p2, e->c1, N1, S2)
    {
        const double(*img)[SIDE][SIDE] = (const double(*)[SIDE][SIDE]) & a->x;
        double(*nodin)[SIDE][SIDE] = NULL;
        CONV_BACKWARD(img, nodin, e->c1, ((const double(*)[1][KS][KS])p->w1),
                      ((double(*)[1][KS][KS])g->w1), g->b1, 1, N1, S1)
    }
}

/* ---- training and evaluation --------------------------------------------------------- */
static void init_params(Params *p)
{
    double *w = (double *)p;
    memset(p, 0, sizeof(*p));
    /* uniform(-r, r) with r = sqrt(6 / (fan_in + fan_out)); biases start at zero */
    struct { double *start; size_t n; double fan; } blocks[] = {
        {&p->w1[0][0][0], sizeof(p->w1) / sizeof(double), KS * KS * (1.0 + N1)},
        {&p->w3[0][0][0][0], sizeof(p->w3) / sizeof(double), KS * KS * (double)(N1 + N3)},
        {&p->w5[0][0][0][0], sizeof(p->w5) / sizeof(double), KS * KS * (double)(N3 + N5)},
        {&p->w6[0][0], sizeof(p->w6) / sizeof(double), (double)(N5 + OUTPUT)},
    };
    for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); ++b) {
        double r = sqrt(6.0 / blocks[b].fan);
        for (size_t k = 0; k < blocks[b].n; ++k) blocks[b].start[k] = r * (2 * rng_uniform() - 1);
    }
    (void)w;
}

static double param_norm(const Params *p)
{
    const double *w = (const double *)p;
    double s = 0;
    for (size_t k = 0; k < NPARAMS; ++k) s += w[k] * w[k];
    return sqrt(s);
}

/* cross-entropy and 1/2 ||onehot - p||^2 of the softmax of the outputs */
static void losses(const double out[OUTPUT], int label, double *ce, double *sq)
{
    double top = out[0], p[OUTPUT], total = 0;
    for (int i = 1; i < OUTPUT; ++i)
        if (out[i] > top) top = out[i];
    for (int i = 0; i < OUTPUT; ++i) total += (p[i] = exp(out[i] - top));
    *ce = log(total) - (out[label] - top);
    *sq = 0;
    for (int i = 0; i < OUTPUT; ++i) {
        double d = (i == label) - p[i] / total;
        *sq += 0.5 * d * d;
    }
}

static int predict(const double out[OUTPUT])
{
    int best = 0;
    for (int i = 1; i < OUTPUT; ++i)
        if (out[i] > out[best]) best = i;
    return best;
}

/* What the network does on a data set, beyond accuracy and loss (see the header). */
typedef struct {
    int alive_c1, alive_c3, alive_c5, alive_out; /* maps / units positive on some image */
    double out_zero, out_nan, out_spread;        /* shares of images; max - min of an output */
    int pred_counts[OUTPUT];
} Stats;

static void evaluate(const Params *p, const Dataset *d, Acts *a, double *acc, double *ce,
                     Stats *st)
{
    int right = 0, zero = 0, nan = 0;
    double ce_sum = 0, lo[OUTPUT], hi[OUTPUT];
    int pos1[N1] = {0}, pos3[N3] = {0}, pos5[N5] = {0}, pos6[OUTPUT] = {0};
    for (int j = 0; j < OUTPUT; ++j) {
        lo[j] = INFINITY;
        hi[j] = -INFINITY;
    }
    if (st) memset(st, 0, sizeof(*st));
    for (int k = 0; k < d->n; ++k) {
        load_input(d, k, a->x);
        forward(p, a);
        double c, s;
        losses(a->out, d->labels[k], &c, &s);
        ce_sum += c;
        int guess = predict(a->out);
        right += guess == d->labels[k];
        if (!st) continue;
        st->pred_counts[guess] += 1;
        int all_zero = 1, any_nan = 0;
        for (int j = 0; j < OUTPUT; ++j) {
            double v = a->out[j];
            all_zero &= v == 0;
            any_nan |= isnan(v);
            pos6[j] |= v > 0;
            if (v < lo[j]) lo[j] = v;
            if (v > hi[j]) hi[j] = v;
        }
        zero += all_zero;
        nan += any_nan;
        for (int m = 0; m < N1; ++m)
            for (int q = 0; q < S1 * S1 && !pos1[m]; ++q) pos1[m] |= (&a->c1[m][0][0])[q] > 0;
        for (int m = 0; m < N3; ++m)
            for (int q = 0; q < S3 * S3 && !pos3[m]; ++q) pos3[m] |= (&a->c3[m][0][0])[q] > 0;
        for (int o = 0; o < N5; ++o) pos5[o] |= a->c5[o] > 0;
    }
    *acc = d->n ? (double)right / d->n : 0;
    *ce = d->n ? ce_sum / d->n : 0;
    if (!st) return;
    for (int m = 0; m < N1; ++m) st->alive_c1 += pos1[m];
    for (int m = 0; m < N3; ++m) st->alive_c3 += pos3[m];
    for (int o = 0; o < N5; ++o) st->alive_c5 += pos5[o];
    for (int j = 0; j < OUTPUT; ++j) {
        st->alive_out += pos6[j];
        /* lo > hi when an output was NaN on every image (comparisons with NaN are false);
         * the spread is then NaN, and stays NaN */
        double spread = lo[j] <= hi[j] ? hi[j] - lo[j] : NAN;
        if (isnan(spread) || spread > st->out_spread) st->out_spread = spread;
    }
    st->out_zero = d->n ? (double)zero / d->n : 0;
    st->out_nan = d->n ? (double)nan / d->n : 0;
}

static void json_num(FILE *f, const char *key, double v)
{
    if (isnan(v)) fprintf(f, "\"%s\": NaN", key);
    else if (isinf(v)) fprintf(f, "\"%s\": %sInfinity", key, v < 0 ? "-" : "");
    else fprintf(f, "\"%s\": %.10g", key, v);
}

static void json_stats(FILE *f, const Stats *st)
{
    fprintf(f, ", \"alive_c1\": %d, \"alive_c3\": %d, \"alive_c5\": %d, \"alive_out\": %d, ",
            st->alive_c1, st->alive_c3, st->alive_c5, st->alive_out);
    json_num(f, "out_zero", st->out_zero);
    fprintf(f, ", ");
    json_num(f, "out_nan", st->out_nan);
    fprintf(f, ", ");
    json_num(f, "out_spread", st->out_spread);
    fprintf(f, ", \"pred_counts\": [");
    for (int j = 0; j < OUTPUT; ++j) fprintf(f, "%s%d", j ? ", " : "", st->pred_counts[j]);
    fprintf(f, "]");
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static const char *delta_name(void)
{
#if DELTA == mse
    return "mse";
#elif DELTA == ce_textbook
    return "ce_textbook";
#elif DELTA == ce_fixed
    return "ce_fixed";
#else
    return "custom";
#endif
}

static void usage(void)
{
    fprintf(stderr,
            "usage: lenet5 --train-images F --train-labels F --test-images F --test-labels F\n"
            "              [--alpha A] [--seed S] [--epochs E] [--batch B] [--log FILE]\n"
            "              [--eval-train] [--quiet]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *tri = NULL, *trl = NULL, *tei = NULL, *tel = NULL, *logpath = NULL;
    double alpha = ALPHA;
    long seed = 1;
    int epochs = 50, batch = 300, eval_train = 0, quiet = 0;
    for (int k = 1; k < argc; ++k) {
        const char *o = argv[k];
        int has = k + 1 < argc;
        if (!strcmp(o, "--eval-train")) eval_train = 1;
        else if (!strcmp(o, "--quiet")) quiet = 1;
        else if (!has) usage();
        else if (!strcmp(o, "--train-images")) tri = argv[++k];
        else if (!strcmp(o, "--train-labels")) trl = argv[++k];
        else if (!strcmp(o, "--test-images")) tei = argv[++k];
        else if (!strcmp(o, "--test-labels")) tel = argv[++k];
        else if (!strcmp(o, "--alpha")) alpha = atof(argv[++k]);
        else if (!strcmp(o, "--seed")) seed = atol(argv[++k]);
        else if (!strcmp(o, "--epochs")) epochs = atoi(argv[++k]);
        else if (!strcmp(o, "--batch")) batch = atoi(argv[++k]);
        else if (!strcmp(o, "--log")) logpath = argv[++k];
        else usage();
    }
    if (!tri || !trl || !tei || !tel || epochs < 0 || batch < 1 || !(alpha > 0)) usage();

    Dataset train = load_dataset(tri, trl), test = load_dataset(tei, tel);
    if (batch > train.n) {
        fprintf(stderr, "lenet5: batch %d is larger than the %d training images\n", batch,
                train.n);
        return 2;
    }
    FILE *log = stdout;
    if (logpath && !(log = fopen(logpath, "w"))) {
        fprintf(stderr, "lenet5: cannot write %s\n", logpath);
        return 2;
    }
    rng_state = 0x5EEDULL * 1000003ULL + (uint64_t)seed;
    Params *p = malloc(sizeof(Params)), *g = malloc(sizeof(Params));
    Acts *a = malloc(sizeof(Acts));
    Errors *e = malloc(sizeof(Errors));
    int *order = malloc(sizeof(int) * train.n);
    if (!p || !g || !a || !e || !order) return 3;
    init_params(p);
    for (int k = 0; k < train.n; ++k) order[k] = k;

    double acc, ce;
    Stats st;
    evaluate(p, &test, a, &acc, &ce, &st);
    fprintf(log, "{\"kind\": \"init\", \"delta\": \"%s\", \"output_relu\": %d, ", delta_name(),
            OUTPUT_RELU);
    json_num(log, "alpha", alpha);
    fprintf(log, ", \"seed\": %ld, \"batch\": %d, \"epochs\": %d, \"n_train\": %d, "
                 "\"n_test\": %d, \"n_params\": %zu, ", seed, batch, epochs, train.n, test.n,
            (size_t)NPARAMS);
    json_num(log, "param_norm", param_norm(p));
    fprintf(log, ", ");
    json_num(log, "test_acc", acc);
    fprintf(log, ", ");
    json_num(log, "test_ce", ce);
    json_stats(log, &st);
    fprintf(log, "}\n");

    int updates_per_epoch = train.n / batch, update = 0;
    double *gw = (double *)g, *pw = (double *)p;
    for (int ep = 1; ep <= epochs; ++ep) {
        for (int k = train.n - 1; k > 0; --k) { /* Fisher-Yates shuffle */
            int j = (int)(rng_uniform() * (k + 1));
            int t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        double t0 = now();
        for (int u = 0; u < updates_per_epoch; ++u) {
            memset(g, 0, sizeof(*g));
            double ce_sum = 0, sq_sum = 0;
            int right = 0;
            for (int b = 0; b < batch; ++b) {
                int idx = order[u * batch + b], label = train.labels[idx];
                double delta[OUTPUT], c, s;
                load_input(&train, idx, a->x);
                forward(p, a);
                losses(a->out, label, &c, &s);
                ce_sum += c;
                sq_sum += s;
                right += predict(a->out) == label;
                softmax(a->out, delta, label, OUTPUT);
                backward(p, a, delta, g, e);
            }
            double k = alpha / batch;
            for (size_t q = 0; q < NPARAMS; ++q) pw[q] += k * gw[q];
            ++update;
            fprintf(log, "{\"kind\": \"update\", \"epoch\": %d, \"update\": %d, ", ep, update);
            json_num(log, "batch_ce", ce_sum / batch);
            fprintf(log, ", ");
            json_num(log, "batch_mse", sq_sum / batch);
            fprintf(log, ", ");
            json_num(log, "batch_acc", (double)right / batch);
            fprintf(log, ", ");
            json_num(log, "param_norm", param_norm(p));
            fprintf(log, "}\n");
        }
        double seconds = now() - t0;
        evaluate(p, &test, a, &acc, &ce, &st);
        fprintf(log, "{\"kind\": \"epoch\", \"epoch\": %d, \"update\": %d, ", ep, update);
        json_num(log, "test_acc", acc);
        fprintf(log, ", ");
        json_num(log, "test_ce", ce);
        fprintf(log, ", ");
        json_num(log, "param_norm", param_norm(p));
        fprintf(log, ", ");
        json_num(log, "train_seconds", seconds);
        json_stats(log, &st);
        if (eval_train) {
            double tacc, tce;
            evaluate(p, &train, a, &tacc, &tce, NULL);
            fprintf(log, ", ");
            json_num(log, "train_acc", tacc);
            fprintf(log, ", ");
            json_num(log, "train_ce", tce);
        }
        fprintf(log, "}\n");
        fflush(log);
        if (!quiet && log != stdout)
            fprintf(stderr, "epoch %d: test accuracy %.4f, CE %.4f, %.2f s\n", ep, acc, ce,
                    seconds);
    }
    if (log != stdout) fclose(log);
    free(p); free(g); free(a); free(e); free(order);
    free(train.pixels); free(train.labels); free(test.pixels); free(test.labels);
    return 0;
}
