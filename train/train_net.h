/* train_net.h: the small network `aplcl train` fits on the OpenCL device.
 *
 * features -> [hidden layer, ReLU] -> linear head -> logits, trained with mini-batch Adam on
 * any aplcl loss. Every heavy step runs on the device: CLBlast GEMMs, the fused aplcl loss
 * kernel, and a few element-wise kernels of the tool's own (gather, bias/ReLU, column sums,
 * Adam). Not a framework: one architecture, float32, one device.
 */
#ifndef APLCL_TRAIN_NET_H
#define APLCL_TRAIN_NET_H

#include "aplcl.h"
#include "aplcl_head.h"

#include <stdint.h>

typedef struct train_net train_net;

typedef struct {
    size_t features, hidden, labels; /* hidden 0: linear model */
    size_t max_batch;                /* largest batch forward() or step() will see */
    float lr, beta1, beta2, adam_eps, weight_decay;
    uint64_t seed;           /* weight initialisation */
    const float *pos_weight; /* NULL or `labels` floats: the loss's pos_weight (aplcl.h) */
} train_net_config;

/* Creates the network's buffers and kernels on ctx's device. Returns NULL with *err set
 * (a message) on failure. */
train_net *train_net_create(aplcl_ctx *ctx, const train_net_config *cfg, char *err,
                            size_t err_size);
/* A label shard (train/train_parallel.c): the head holds labels label_offset .. + cfg->labels - 1
 * of labels_total, initialised as those rows of the whole head's weights (the same model as
 * train_net_create's with labels_total labels, whatever the sharding). */
train_net *train_net_create_shard(aplcl_ctx *ctx, const train_net_config *cfg, size_t label_offset,
                                  size_t labels_total, char *err, size_t err_size);
void train_net_destroy(train_net *net);

/* Uploads a data set once: x (rows x features), y (rows x labels, 0/1). Returns a handle
 * index (0, 1, ...) or -1. */
int train_net_upload(train_net *net, const float *x, const uint8_t *y, size_t rows);
/* The same with the targets of the WHOLE label space as BITS words (rows x
 * APLCL_BITS_WORDS(labels_total), aplcl_pack_bits' layout): a shard's head reads its labels
 * through a label window, so every shard uploads the same structure. */
int train_net_upload_bits(train_net *net, const float *x, const uint32_t *bits, size_t rows);

/* One Adam step on the given rows of data set `set` (indices into it, at most max_batch).
 * The batch loss (as the loss's reduction defines it) is written to slot `loss_slot` of a
 * device array read back by train_net_losses; nothing waits on the host. */
int train_net_step(train_net *net, int set, const uint32_t *rows, size_t batch,
                   const aplcl_params *loss, size_t loss_slot);

/* train_net_step in its three phases, for a parallel driver that sums between them: the head
 * pass (gather, hidden forward, head: loss, dX at the head input, the head's gradients), the
 * hidden pass (the hidden layer's gradients from dX; nothing without a hidden layer), Adam. */
int train_net_head_pass(train_net *net, int set, const uint32_t *rows, size_t batch,
                        const aplcl_params *loss, size_t loss_slot);
int train_net_hidden_pass(train_net *net);
int train_net_adam(train_net *net);

/* What a parallel driver sums or compares on the host: all parameter gradients, dX at the head
 * input of the last head pass (batch x hidden), all parameters. */
typedef enum { TRAIN_NET_GRAD, TRAIN_NET_DX, TRAIN_NET_THETA } train_net_buf;
size_t train_net_copy_count(const train_net *net, train_net_buf which);
/* Blocking copy of train_net_copy_count() floats between the buffer and host. */
int train_net_copy(train_net *net, train_net_buf which, float *host, int to_device);
/* Reads back the first `count` batch losses (blocking) and, in *nonfinite, how many non-finite
 * logits the loss kernel met in those batches (APLCL_COUNT_NONFINITE_LOGITS summed): such logits
 * add nothing to the loss, so a diverged model can show a small finite loss; check both. */
int train_net_losses(train_net *net, float *out, size_t count, uint64_t *nonfinite);

/* Logits of every row of data set `set` into out (rows x labels; blocking). */
int train_net_predict(train_net *net, int set, float *out);

/* The last OpenCL/aplcl/CLBlast failure, as text. */
const char *train_net_error(const train_net *net);

#endif /* APLCL_TRAIN_NET_H */
