/* fulgur_c.h: Fulgur's stable C ABI (C99; also includable from C++). docs/C_API.md has the
 * principles; every function below states its ownership and threading rules.
 *
 * Conventions, once for all functions:
 *   - Every function returns a fulgur_status (FULGUR_OK == 0) unless it says otherwise. On
 *     failure no output parameter is written, nothing leaks, and fulgur_last_error() gives
 *     the message (op, what was given, a hint). No C++ exception ever crosses this boundary.
 *   - Handles are opaque. A handle returned through `T** out` is owned by the caller, who
 *     releases it with the matching *_destroy function. Every *_destroy accepts NULL.
 *   - Handles are not thread-safe: one handle (and the handles that share its data: a model
 *     and its optimizer, session, parameters) is used by one thread at a time. Distinct
 *     handles may be used from distinct threads. The last-error message is per thread.
 *   - Memory given to fulgur_tensor_from_data / _from_fortran_array is borrowed, never copied
 *     or freed: it must outlive the tensor and every tensor that views it.
 *   - Strides and sizes are in elements; int64_t throughout.
 */
#ifndef FULGUR_C_H_
#define FULGUR_C_H_

#include <stddef.h>
#include <stdint.h>

/* The ABI version this header describes. It grows only when a function's meaning or a
 * struct's layout changes; adding functions keeps it. Compare with fulgur_abi_version(). */
#define FULGUR_C_ABI_VERSION 1

/* libfulgur.so exports only fulgur's symbols (tools/libfulgur.map); FULGUR_C_API marks the C functions. */
#if defined(__GNUC__)
#define FULGUR_C_API __attribute__((visibility("default")))
#else
#define FULGUR_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Every enum below ends with a *_FORCE_INT32 value (never a valid argument): it fixes the
 * enum's size at 32 bits whatever the compiler, and makes any int32 value a legal value of the
 * type, so that an out-of-range argument is reported as FULGUR_INVALID_ARGUMENT. */

/* ---- status and errors --------------------------------------------------------------- */

typedef enum fulgur_status {
  FULGUR_OK = 0,
  FULGUR_INVALID_ARGUMENT = 1, /* NULL handle, bad enum, negative size, bad option */
  FULGUR_SHAPE_MISMATCH = 2,   /* shapes that do not fit (forward, loss, copy, load) */
  FULGUR_DTYPE_MISMATCH = 3,   /* a dtype the operation does not take */
  FULGUR_IO_ERROR = 4,         /* a file that cannot be read, written or parsed */
  FULGUR_OUT_OF_MEMORY = 5,    /* allocation failed */
  FULGUR_UNSUPPORTED = 6,      /* valid request not available in this build (CUDA pointers) */
  FULGUR_INTERNAL = 7,         /* anything else (a bug: please report the message) */
  FULGUR_STATUS_FORCE_INT32 = 0x7fffffff
} fulgur_status;

/* The ABI version of the loaded library (FULGUR_C_ABI_VERSION it was built with). Any
 * thread. Returns the number itself, not a status. */
FULGUR_C_API int32_t fulgur_abi_version(void);

/* The message of the calling thread's last failed call ("" if none). The pointer is owned by
 * the library and valid until the calling thread's next fulgur_* call; copy it to keep it. */
FULGUR_C_API const char* fulgur_last_error(void);

/* A static name for a status ("FULGUR_SHAPE_MISMATCH"; "unknown status" otherwise). Any
 * thread; never NULL. */
FULGUR_C_API const char* fulgur_status_name(fulgur_status status);

/* ---- tensors --------------------------------------------------------------------------- */

typedef enum fulgur_dtype {
  FULGUR_FLOAT32 = 0,
  FULGUR_FLOAT64 = 1,
  FULGUR_INT32 = 2,
  FULGUR_INT64 = 3,
  FULGUR_UINT8 = 4,
  FULGUR_INT8 = 5,
  FULGUR_INT16 = 6,
  FULGUR_BOOL = 7, /* one byte, 0 or 1 */
  FULGUR_FLOAT16 = 8,
  FULGUR_BFLOAT16 = 9,
  FULGUR_DTYPE_FORCE_INT32 = 0x7fffffff
} fulgur_dtype;

typedef enum fulgur_device_kind {
  FULGUR_DEVICE_CPU = 0,
  FULGUR_DEVICE_CUDA = 1,
  FULGUR_DEVICE_KIND_FORCE_INT32 = 0x7fffffff
} fulgur_device_kind;

/* Where memory lives: {FULGUR_DEVICE_CPU, 0} or {FULGUR_DEVICE_CUDA, n}. Passed by value. */
typedef struct fulgur_device {
  int32_t kind;  /* a fulgur_device_kind */
  int32_t index; /* CUDA device number; ignored for the CPU */
} fulgur_device;

typedef struct fulgur_tensor fulgur_tensor;

/* The most dimensions a tensor may have in this API. */
#define FULGUR_MAX_DIMS 16

/* Wraps caller memory WITHOUT copying. sizes[ndim]; strides[ndim] in elements (NULL:
 * row-major contiguous), non-negative. The memory is borrowed: it must stay valid (and is
 * never freed by fulgur) until the tensor and every tensor viewing it are destroyed; writes
 * through either side are seen by the other. ndim 0 is a scalar (sizes may be NULL).
 * {FULGUR_DEVICE_CUDA, n}: `data` is CUDA device memory of device n, wrapped as a cuda:n
 * tensor (no copy). Needs a CUDA device in the process (a GPU, or the emulated device of
 * docs/CUDA.md): FULGUR_UNSUPPORTED otherwise, FULGUR_INVALID_ARGUMENT for a device that does
 * not exist. What runs on CUDA tensors is what CUDA tensors support (docs/CUDA.md: element-wise
 * ops, reductions, float32/float64 matmul; a model moved with fulgur_model_to); the rest is an
 * error naming the op and device. */
FULGUR_C_API fulgur_status fulgur_tensor_from_data(void* data, fulgur_dtype dtype, int32_t ndim,
                                                   const int64_t* sizes, const int64_t* strides,
                                                   fulgur_device device, fulgur_tensor** out);

/* A Fortran (column-major) array x(shape[0], ..., shape[ndim-1]) as a tensor with the SAME
 * index order (t[i][j] is x(i+1, j+1)) and column-major strides (1, shape[0], ...): no copy,
 * borrowed as fulgur_tensor_from_data. (The Fortran module instead reverses the shape, which
 * gives a contiguous row-major tensor: x(features, batch) -> [batch, features].) */
FULGUR_C_API fulgur_status fulgur_tensor_from_fortran_array(void* data, fulgur_dtype dtype, int32_t ndim,
                                                            const int64_t* shape, fulgur_device device,
                                                            fulgur_tensor** out);

/* A new zero-filled, contiguous CPU tensor owned by the library (freed by destroy). */
FULGUR_C_API fulgur_status fulgur_tensor_zeros(fulgur_dtype dtype, int32_t ndim, const int64_t* sizes,
                                               fulgur_tensor** out);

/* Releases the handle (NULL: no-op). Borrowed caller memory is left alone; library-owned
 * memory is freed when no other handle (e.g. a model parameter) shares it. */
FULGUR_C_API void fulgur_tensor_destroy(fulgur_tensor* tensor);

/* Metadata. Read-only on the handle; the outputs are written only on success. */
FULGUR_C_API fulgur_status fulgur_tensor_ndim(const fulgur_tensor* tensor, int32_t* ndim);
/* sizes must hold fulgur_tensor_ndim() values (at most FULGUR_MAX_DIMS). */
FULGUR_C_API fulgur_status fulgur_tensor_sizes(const fulgur_tensor* tensor, int64_t* sizes);
/* strides in elements, as sizes. */
FULGUR_C_API fulgur_status fulgur_tensor_strides(const fulgur_tensor* tensor, int64_t* strides);
FULGUR_C_API fulgur_status fulgur_tensor_numel(const fulgur_tensor* tensor, int64_t* numel);
FULGUR_C_API fulgur_status fulgur_tensor_dtype(const fulgur_tensor* tensor, fulgur_dtype* dtype);

/* Where the tensor's memory lives ({FULGUR_DEVICE_CUDA, n} for a cuda:n tensor). */
FULGUR_C_API fulgur_status fulgur_tensor_device(const fulgur_tensor* tensor, fulgur_device* device);

/* Pointer to element [0, ..., 0] (for a borrowed tensor: the caller's pointer; device memory
 * for a CUDA tensor). Valid while
 * the tensor lives; the layout is given by sizes/strides (results of forward and losses are
 * row-major contiguous). Writes through it are seen by the tensor. */
FULGUR_C_API fulgur_status fulgur_tensor_data(const fulgur_tensor* tensor, void** data);

/* Copies the elements, in row-major order, into dst, HOST memory (dst_bytes >= numel *
 * element size, else FULGUR_SHAPE_MISMATCH). Any strides; a CUDA tensor is copied to the host. */
FULGUR_C_API fulgur_status fulgur_tensor_copy_to(const fulgur_tensor* tensor, void* dst, size_t dst_bytes);

/* dst[...] = src[...]: same shape (else FULGUR_SHAPE_MISMATCH), dtype converted. Writes
 * through dst's strides, so into the caller's memory when dst borrows it. */
FULGUR_C_API fulgur_status fulgur_tensor_copy(fulgur_tensor* dst, const fulgur_tensor* src);

/* The value of a one-element tensor as a double (e.g. a loss). */
FULGUR_C_API fulgur_status fulgur_tensor_item(const fulgur_tensor* tensor, double* value);

/* loss.backward(): tensor must be a one-element floating tensor that depends on parameters
 * (FULGUR_INVALID_ARGUMENT otherwise). Gradients accumulate into the parameters (.grad), as
 * in PyTorch; the graph is freed. */
FULGUR_C_API fulgur_status fulgur_tensor_backward(fulgur_tensor* tensor);

/* ---- models ----------------------------------------------------------------------------- */

typedef struct fulgur_model fulgur_model;

/* An empty sequential model (torch.nn.Sequential) with its own random stream seeded with
 * `seed`. Layers are appended with fulgur_model_add_*; each draws its initial weights from
 * that stream, so the same seed and layers give the same weights as the C++
 *   fulgur::manual_seed(seed); auto l1 = std::make_shared<nn::Linear>(...); ... (in order)
 * and dropout draws from the same stream afterwards. The process-wide default generator is
 * never touched (the stream stands in for it on the calling thread only). Float32 parameters. */
FULGUR_C_API fulgur_status fulgur_model_create(uint64_t seed, fulgur_model** out);

/* Frees the model (NULL: no-op). Optimizers and sessions made from it keep its parameters
 * alive and stay usable; tensors from fulgur_model_parameter too. */
FULGUR_C_API void fulgur_model_destroy(fulgur_model* model);

/* Layers (names and initialisation as torch.nn). bias: 0 or 1. */
FULGUR_C_API fulgur_status fulgur_model_add_linear(fulgur_model* model, int64_t in_features, int64_t out_features,
                                                   int32_t bias);
FULGUR_C_API fulgur_status fulgur_model_add_relu(fulgur_model* model);
FULGUR_C_API fulgur_status fulgur_model_add_tanh(fulgur_model* model);
FULGUR_C_API fulgur_status fulgur_model_add_sigmoid(fulgur_model* model);
/* approximate_tanh: 0 exact erf GELU, 1 the tanh approximation. */
FULGUR_C_API fulgur_status fulgur_model_add_gelu(fulgur_model* model, int32_t approximate_tanh);
/* p in [0, 1); active in training mode only. */
FULGUR_C_API fulgur_status fulgur_model_add_dropout(fulgur_model* model, double p);
/* LayerNorm over the last dimension of size normalized_size, with affine weight and bias. */
FULGUR_C_API fulgur_status fulgur_model_add_layer_norm(fulgur_model* model, int64_t normalized_size, double eps);
/* Conv2d on [N, C, H, W], square kernel, zero padding. */
FULGUR_C_API fulgur_status fulgur_model_add_conv2d(fulgur_model* model, int64_t in_channels, int64_t out_channels,
                                                   int64_t kernel_size, int64_t stride, int64_t padding);
/* Flatten(start_dim = 1). */
FULGUR_C_API fulgur_status fulgur_model_add_flatten(fulgur_model* model);
/* An ONNX model file (one input, one output) as the next layer, TRAINABLE: its floating-point
 * initializers become parameters (named "<layer>.<initializer name, '.' -> '_'>", e.g.
 * "0.0_weight"), gradients flow through its graph, and optimizers, checkpoints and the Trainer
 * treat them as any layer's. E.g. a network exported from PyTorch, fine-tuned here, or
 * followed by a new head (fulgur_model_add_linear). FULGUR_IO_ERROR for a file that cannot
 * be read or is not such a model (the message says why). */
FULGUR_C_API fulgur_status fulgur_model_add_onnx(fulgur_model* model, const char* path);

/* y = model(x): *out is a new library-owned contiguous tensor (destroy it). x may borrow
 * caller memory, any strides, float32 (or float64: converted). With grad mode on (training)
 * y keeps the graph for fulgur_tensor_backward; in eval mode no graph is recorded.
 * FULGUR_SHAPE_MISMATCH when x does not fit the layers. */
FULGUR_C_API fulgur_status fulgur_model_forward(fulgur_model* model, const fulgur_tensor* x, fulgur_tensor** out);

/* Moves the model's parameters and buffers to `device` ({FULGUR_DEVICE_CUDA, n} or the CPU),
 * as model.to(device): afterwards forward takes tensors on that device. Move a model BEFORE
 * making its optimizer (as PyTorch advises: optimizer state lives where the parameters were).
 * FULGUR_UNSUPPORTED without a CUDA device. */
FULGUR_C_API fulgur_status fulgur_model_to(fulgur_model* model, fulgur_device device);

/* Training (1) or evaluation (0) mode (dropout). A new model is in training mode. */
FULGUR_C_API fulgur_status fulgur_model_set_training(fulgur_model* model, int32_t training);

/* Number of parameter tensors, and of scalar parameters (sum of their numel). */
FULGUR_C_API fulgur_status fulgur_model_num_parameter_tensors(const fulgur_model* model, int64_t* count);
FULGUR_C_API fulgur_status fulgur_model_num_parameters(const fulgur_model* model, int64_t* count);

/* The index-th parameter (PyTorch order: "0.weight", "0.bias", "2.weight", ...) as a new
 * handle SHARING the parameter's memory (writes change the model). Destroy the handle. */
FULGUR_C_API fulgur_status fulgur_model_parameter(const fulgur_model* model, int64_t index, fulgur_tensor** out);

/* Its state_dict name ("0.weight"), copied NUL-terminated into name[capacity]
 * (FULGUR_INVALID_ARGUMENT if it does not fit). */
FULGUR_C_API fulgur_status fulgur_model_parameter_name(const fulgur_model* model, int64_t index, char* name,
                                                       size_t capacity);

/* Drops every parameter's gradient (PyTorch 2's set_to_none). */
FULGUR_C_API fulgur_status fulgur_model_zero_grad(fulgur_model* model);

/* Writes the model as an ONNX file (atomically), tracing one forward on `sample_input`; its
 * first axis is the dynamic batch axis. */
FULGUR_C_API fulgur_status fulgur_model_export_onnx(fulgur_model* model, const char* path,
                                                    const fulgur_tensor* sample_input);

/* ---- losses ----------------------------------------------------------------------------- */

typedef enum fulgur_loss_kind {
  FULGUR_LOSS_MSE = 0,            /* mean((x - y)^2); target as input */
  FULGUR_LOSS_L1 = 1,             /* mean(|x - y|) */
  FULGUR_LOSS_SMOOTH_L1 = 2,      /* beta 1 */
  FULGUR_LOSS_CROSS_ENTROPY = 3,  /* input [N, C] logits, target [N] int64 class indices */
  FULGUR_LOSS_BCE_WITH_LOGITS = 4, /* target as input, values in [0, 1] */
  FULGUR_LOSS_KIND_FORCE_INT32 = 0x7fffffff
} fulgur_loss_kind;

/* The mean-reduced loss (torch.nn.functional, reduction="mean") as a new one-element tensor
 * carrying the graph (fulgur_tensor_backward). FULGUR_SHAPE_MISMATCH / _DTYPE_MISMATCH when
 * input and target do not fit the kind. */
FULGUR_C_API fulgur_status fulgur_loss(fulgur_loss_kind kind, const fulgur_tensor* input, const fulgur_tensor* target,
                                       fulgur_tensor** out);

/* ---- optimizers ------------------------------------------------------------------------- */

typedef struct fulgur_optimizer fulgur_optimizer;

/* torch.optim.SGD over all the model's parameters (nesterov needs momentum > 0). The
 * optimizer keeps the parameters alive (the model may be destroyed first); it must be used
 * by the same thread as the model at any moment. */
FULGUR_C_API fulgur_status fulgur_optimizer_sgd(fulgur_model* model, double lr, double momentum, double weight_decay,
                                                int32_t nesterov, fulgur_optimizer** out);
/* torch.optim.Adam (L2 weight decay) and AdamW (decoupled weight decay). */
FULGUR_C_API fulgur_status fulgur_optimizer_adam(fulgur_model* model, double lr, double beta1, double beta2, double eps,
                                                 double weight_decay, fulgur_optimizer** out);
FULGUR_C_API fulgur_status fulgur_optimizer_adamw(fulgur_model* model, double lr, double beta1, double beta2,
                                                  double eps, double weight_decay, fulgur_optimizer** out);
FULGUR_C_API void fulgur_optimizer_destroy(fulgur_optimizer* optimizer);

/* One update of every parameter that has a gradient; counts the step (saved as
 * "global_step" in checkpoints). */
FULGUR_C_API fulgur_status fulgur_optimizer_step(fulgur_optimizer* optimizer);
/* Drops the gradients of the optimizer's parameters (set_to_none). */
FULGUR_C_API fulgur_status fulgur_optimizer_zero_grad(fulgur_optimizer* optimizer);
FULGUR_C_API fulgur_status fulgur_optimizer_get_lr(const fulgur_optimizer* optimizer, double* lr);
/* lr >= 0; applies to every parameter group. */
FULGUR_C_API fulgur_status fulgur_optimizer_set_lr(fulgur_optimizer* optimizer, double lr);
/* Steps taken (fulgur_optimizer_step calls, plus those restored from a checkpoint). */
FULGUR_C_API fulgur_status fulgur_optimizer_num_steps(const fulgur_optimizer* optimizer, int64_t* steps);

/* ---- checkpoints ------------------------------------------------------------------------ */

/* Writes model (and optimizer, unless NULL) atomically in Fulgur's checkpoint format, which
 * is PyTorch Lightning's layout (torch.load-able): {"state_dict": model's state_dict,
 * "optimizer_states": [optimizer.state_dict()], "global_step": steps, "epoch": 0, ...} plus
 * the model's random stream, so that training continues bit-exactly after a load. */
FULGUR_C_API fulgur_status fulgur_checkpoint_save(const fulgur_model* model, const fulgur_optimizer* optimizer,
                                                  const char* path);

/* Loads into a model built with the same layers (and its optimizer, unless NULL) a file
 * written by fulgur_checkpoint_save, by the C++ Trainer (Trainer::save_checkpoint /
 * ModelCheckpoint) or by torch.save(model.state_dict()). key_prefix (NULL or "": none) is
 * stripped from the state_dict keys, e.g. "net." for a LightningModule that holds the
 * Sequential as `net`; keys outside it are ignored. Strict otherwise: a missing key or a
 * shape difference is FULGUR_SHAPE_MISMATCH, an optimizer state that does not fit is
 * FULGUR_INVALID_ARGUMENT, FULGUR_IO_ERROR an unreadable or corrupt file; in every failure
 * neither the model nor the optimizer is modified. */
FULGUR_C_API fulgur_status fulgur_checkpoint_load(fulgur_model* model, fulgur_optimizer* optimizer, const char* path,
                                                  const char* key_prefix);

/* ---- the Trainer, driven by the host's loop ------------------------------------------------
 * L::Trainer's host-driven fit (docs/TRAINER.md, "Host-driven training") over a model, an
 * optimizer and a loss: the host's time loop calls fulgur_trainer_step whenever it has a batch,
 * fulgur_trainer_validate and fulgur_trainer_epoch_end when it decides, and reads
 * fulgur_trainer_should_stop. Per step the Trainer's usual semantics apply: gradient
 * accumulation, clipping, logging, checkpoints (ModelCheckpoint), early stopping, DDP.
 * Threading: one thread per trainer handle; the model and optimizer belong to it between
 * begin and end. Lifetimes: the model and optimizer handles must outlive the trainer. */
typedef struct fulgur_trainer fulgur_trainer;

typedef struct fulgur_trainer_options {
  int64_t max_steps;                /* -1: no limit; reached: should_stop becomes 1 */
  int64_t accumulate_grad_batches;  /* >= 1 */
  double gradient_clip_val;         /* <= 0: no clipping (norm clipping otherwise) */
  int64_t log_every_n_steps;        /* >= 1 */
  const char* default_root_dir;     /* NULL: the current directory */
  int32_t csv_logger;               /* 1: CSVLogger in default_root_dir (metrics.csv); 0: none */
  const char* checkpoint_dir;       /* NULL: no ModelCheckpoint; else checkpoints there */
  const char* monitor;              /* NULL: save every epoch end; "val_loss": best by val_loss */
  int32_t save_top_k;               /* ModelCheckpoint's save_top_k (1, -1 all, 0 none) */
  int32_t save_last;                /* 1: also last.ckpt */
  int64_t early_stopping_patience;  /* < 0: no EarlyStopping; else on val_loss with this patience */
  int32_t ddp;                      /* 1: strategy "ddp" over MPI_COMM_WORLD (see fulgur_c_mpi.h) */
  int32_t _reserved[8];             /* zero */
} fulgur_trainer_options;

/* Fills *options with the defaults (no limit, no accumulation or clipping, log every 50 steps,
 * no logger, no checkpoints, no early stopping, one process). Returns nothing. */
FULGUR_C_API void fulgur_trainer_options_default(fulgur_trainer_options* options);
FULGUR_C_API fulgur_status fulgur_trainer_create(const fulgur_trainer_options* options, fulgur_trainer** out);
FULGUR_C_API void fulgur_trainer_destroy(fulgur_trainer* trainer);

/* Starts the fit of `model` with `optimizer` (made for that model) and loss `loss`:
 * training_step = loss(model(x), y), logged as "train_loss"; validation logs "val_loss".
 * ckpt_path (NULL or "": none) resumes from a checkpoint the Trainer wrote (model, optimizer,
 * step counts, callbacks). */
FULGUR_C_API fulgur_status fulgur_trainer_begin(fulgur_trainer* trainer, fulgur_model* model,
                                                fulgur_optimizer* optimizer, fulgur_loss_kind loss,
                                                const char* ckpt_path);
/* One training batch (x, y borrowed for the call); *loss (may be NULL) gets the batch loss. */
FULGUR_C_API fulgur_status fulgur_trainer_step(fulgur_trainer* trainer, const fulgur_tensor* x,
                                               const fulgur_tensor* y, double* loss);
/* The validation loop on one batch (x, y): checkpoints and early stopping decide on its
 * val_loss; *val_loss (may be NULL) gets it. */
FULGUR_C_API fulgur_status fulgur_trainer_validate(fulgur_trainer* trainer, const fulgur_tensor* x,
                                                   const fulgur_tensor* y, double* val_loss);
/* Closes the current epoch (epoch-end checkpoints and logging); the next step opens another. */
FULGUR_C_API fulgur_status fulgur_trainer_epoch_end(fulgur_trainer* trainer);
/* Ends the fit (closes an open epoch, teardown). The model keeps its trained weights. */
FULGUR_C_API fulgur_status fulgur_trainer_end(fulgur_trainer* trainer);
/* 1 when early stopping or max_steps asks to stop. */
FULGUR_C_API fulgur_status fulgur_trainer_should_stop(const fulgur_trainer* trainer, int32_t* stop);
FULGUR_C_API fulgur_status fulgur_trainer_global_step(const fulgur_trainer* trainer, int64_t* step);
FULGUR_C_API fulgur_status fulgur_trainer_current_epoch(const fulgur_trainer* trainer, int64_t* epoch);
/* Writes the Trainer's checkpoint (rank 0 writes under DDP), atomically. */
FULGUR_C_API fulgur_status fulgur_trainer_save_checkpoint(fulgur_trainer* trainer, const char* path);
/* The learning-rate schedule of the next fits (torch.optim.lr_scheduler, stepped by the Trainer
 * as Lightning steps configure_optimizers' scheduler), set before fulgur_trainer_begin:
 *   FULGUR_LR_CONSTANT      no scheduler (the default); param1, param2 ignored
 *   FULGUR_LR_STEP          StepLR(step_size = param1 (an integer >= 1), gamma = param2)
 *   FULGUR_LR_EXPONENTIAL   ExponentialLR(gamma = param1)
 *   FULGUR_LR_COSINE        CosineAnnealingLR(T_max = param1 (an integer >= 1), eta_min = param2)
 *   FULGUR_LR_PLATEAU       ReduceLROnPlateau on val_loss (factor = param1 in (0, 1),
 *                           patience = param2 (an integer >= 0)), stepped after each
 *                           fulgur_trainer_validate at the epoch end ("epoch" interval only)
 * every_n_steps: 0 steps the schedule at each fulgur_trainer_epoch_end (interval "epoch"); n >= 1
 * every n optimizer steps (interval "step", frequency n). Its state is saved in the Trainer's
 * checkpoints and restored by a resume. Same thread as the trainer; not during a fit. */
typedef enum fulgur_lr_schedule {
  FULGUR_LR_CONSTANT = 0,
  FULGUR_LR_STEP = 1,
  FULGUR_LR_EXPONENTIAL = 2,
  FULGUR_LR_COSINE = 3,
  FULGUR_LR_PLATEAU = 4,
  FULGUR_LR_SCHEDULE_FORCE_INT32 = 0x7fffffff
} fulgur_lr_schedule;
FULGUR_C_API fulgur_status fulgur_trainer_set_lr_schedule(fulgur_trainer* trainer, fulgur_lr_schedule schedule,
                                                          double param1, double param2, int64_t every_n_steps);
/* Called at each training batch end with (user_data, global_step, batch loss) and at each
 * validation end with (user_data, global_step, val_loss): the host's callbacks. NULL removes. */
typedef void (*fulgur_step_callback)(void* user_data, int64_t global_step, double value);
FULGUR_C_API fulgur_status fulgur_trainer_set_callbacks(fulgur_trainer* trainer, fulgur_step_callback on_train_batch_end,
                                                        fulgur_step_callback on_validation_end, void* user_data);

/* ---- inference sessions ----------------------------------------------------------------- */

typedef struct fulgur_session fulgur_session;

/* An ONNX model file (nn/onnx's runtime; CPU). */
FULGUR_C_API fulgur_status fulgur_session_from_onnx(const char* path, fulgur_session** out);
/* A session over a model (e.g. built, then filled by fulgur_checkpoint_load): it SHARES the
 * model's parameters and runs it in eval mode without a graph (the model's own mode is
 * restored after each run). Not to be used concurrently with the model. */
FULGUR_C_API fulgur_status fulgur_session_from_model(fulgur_model* model, fulgur_session** out);
FULGUR_C_API void fulgur_session_destroy(fulgur_session* session);

FULGUR_C_API fulgur_status fulgur_session_num_inputs(const fulgur_session* session, int32_t* count);
FULGUR_C_API fulgur_status fulgur_session_num_outputs(const fulgur_session* session, int32_t* count);

/* Runs on inputs[num_inputs] and writes the results INTO outputs[num_outputs]: tensors the
 * caller made (typically borrowing its own buffers), of exactly the result's shape (else
 * FULGUR_SHAPE_MISMATCH, naming both shapes); dtype converted. The counts must be those of
 * the session. No handle is created; nothing for the caller to free. */
FULGUR_C_API fulgur_status fulgur_session_run(const fulgur_session* session, int32_t num_inputs,
                                              const fulgur_tensor* const* inputs, int32_t num_outputs,
                                              fulgur_tensor* const* outputs);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FULGUR_C_H_ */
