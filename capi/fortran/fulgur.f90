! module fulgur: Fortran 2008 (iso_c_binding) bindings over Fulgur's C ABI (capi/fulgur_c.h).
!
! Arrays are passed WITHOUT copies: a contiguous array x(n1, n2, ...) (column-major) is the
! C ABI's row-major tensor [..., n2, n1] over the same memory, i.e. the shape is reversed.
! So put features first and samples last: x(n_features, n_batch) is the tensor
! [n_batch, n_features] a model takes, and the result y(n_out, n_batch) reads back the same
! way. The arrays must be TARGETs that outlive the tensors made from them.
!
! The Trainer (fulgur_trainer_*) is driven by the host's time loop: create it from a
! type(fulgur_trainer_options) (defaults as in the C ABI), then begin / step / validate /
! epoch_end / end. fulgur_trainer_create_mpi takes the host's communicator as the INTEGER
! handle of `use mpi` (comm%mpi_val with `use mpi_f08`); this module itself needs no MPI.
!
! Every function returns a status (FULGUR_OK = 0); fulgur_last_error() gives the message.
! Handles (type(fulgur_tensor), ...) are released with the matching *_destroy subroutine;
! ownership and threading rules are those of the C ABI (docs/C_API.md).
module fulgur
  use, intrinsic :: iso_c_binding
  implicit none
  private

  ! fulgur_status
  integer(c_int), parameter, public :: FULGUR_OK = 0, FULGUR_INVALID_ARGUMENT = 1, &
    FULGUR_SHAPE_MISMATCH = 2, FULGUR_DTYPE_MISMATCH = 3, FULGUR_IO_ERROR = 4, &
    FULGUR_OUT_OF_MEMORY = 5, FULGUR_UNSUPPORTED = 6, FULGUR_INTERNAL = 7
  ! fulgur_dtype (the ones Fortran arrays map to)
  integer(c_int), parameter, public :: FULGUR_FLOAT32 = 0, FULGUR_FLOAT64 = 1, FULGUR_INT32 = 2, &
    FULGUR_INT64 = 3
  ! fulgur_loss_kind
  integer(c_int), parameter, public :: FULGUR_LOSS_MSE = 0, FULGUR_LOSS_L1 = 1, &
    FULGUR_LOSS_SMOOTH_L1 = 2, FULGUR_LOSS_CROSS_ENTROPY = 3, FULGUR_LOSS_BCE_WITH_LOGITS = 4
  ! fulgur_lr_schedule (fulgur_trainer_set_lr_schedule)
  integer(c_int), parameter, public :: FULGUR_LR_CONSTANT = 0, FULGUR_LR_STEP = 1, &
    FULGUR_LR_EXPONENTIAL = 2, FULGUR_LR_COSINE = 3, FULGUR_LR_PLATEAU = 4
  ! The C ABI version these bindings were written for (compare with fulgur_abi_version()).
  integer(c_int32_t), parameter, public :: FULGUR_C_ABI_VERSION = 1

  ! Opaque handles.
  type, public :: fulgur_tensor
    type(c_ptr) :: ptr = c_null_ptr
  end type
  type, public :: fulgur_model
    type(c_ptr) :: ptr = c_null_ptr
  end type
  type, public :: fulgur_optimizer
    type(c_ptr) :: ptr = c_null_ptr
  end type
  type, public :: fulgur_session
    type(c_ptr) :: ptr = c_null_ptr
  end type

  type, public :: fulgur_trainer
    type(c_ptr) :: ptr = c_null_ptr
  end type

  ! The Trainer's options, with the C ABI's defaults (fulgur_trainer_options_default). A
  ! directory left unallocated is NULL: the current directory (default_root_dir), no
  ! ModelCheckpoint (checkpoint_dir), save at every epoch end (monitor).
  type, public :: fulgur_trainer_options
    integer(c_int64_t) :: max_steps = -1                ! -1: no limit
    integer(c_int64_t) :: accumulate_grad_batches = 1
    real(c_double) :: gradient_clip_val = 0             ! <= 0: no clipping
    integer(c_int64_t) :: log_every_n_steps = 50
    character(len=:), allocatable :: default_root_dir
    logical :: csv_logger = .false.                     ! metrics.csv in default_root_dir
    character(len=:), allocatable :: checkpoint_dir
    character(len=:), allocatable :: monitor            ! e.g. "val_loss"
    integer(c_int32_t) :: save_top_k = 1
    logical :: save_last = .false.
    integer(c_int64_t) :: early_stopping_patience = -1  ! < 0: no EarlyStopping
    logical :: ddp = .false.                            ! DDP over MPI_COMM_WORLD
  end type

  ! struct fulgur_trainer_options, as the C compiler lays it out.
  type, bind(c) :: c_trainer_options
    integer(c_int64_t) :: max_steps
    integer(c_int64_t) :: accumulate_grad_batches
    real(c_double) :: gradient_clip_val
    integer(c_int64_t) :: log_every_n_steps
    type(c_ptr) :: default_root_dir
    integer(c_int32_t) :: csv_logger
    type(c_ptr) :: checkpoint_dir
    type(c_ptr) :: monitor
    integer(c_int32_t) :: save_top_k
    integer(c_int32_t) :: save_last
    integer(c_int64_t) :: early_stopping_patience
    integer(c_int32_t) :: ddp
    integer(c_int32_t) :: reserved(8)
  end type

  ! What the host's callbacks look like (fulgur_trainer_set_callbacks): user_data is the
  ! c_loc of anything the host passed, step the global step, value the loss.
  abstract interface
    subroutine fulgur_step_callback(user_data, step, value) bind(c)
      import :: c_ptr, c_int64_t, c_double
      type(c_ptr), value :: user_data
      integer(c_int64_t), value :: step
      real(c_double), value :: value
    end subroutine
  end interface
  public :: fulgur_step_callback

  ! struct fulgur_device, passed by value.
  type, bind(c) :: c_device
    integer(c_int32_t) :: kind
    integer(c_int32_t) :: index
  end type

  public :: fulgur_abi_version, fulgur_last_error
  public :: fulgur_tensor_from_array, fulgur_tensor_destroy, fulgur_tensor_item, &
    fulgur_tensor_copy_to_array, fulgur_tensor_backward, fulgur_tensor_numel
  public :: fulgur_model_create, fulgur_model_destroy, fulgur_model_add_linear, fulgur_model_add_relu, &
    fulgur_model_add_tanh, fulgur_model_add_sigmoid, fulgur_model_add_gelu, fulgur_model_add_dropout, &
    fulgur_model_add_layer_norm, fulgur_model_add_onnx, fulgur_model_forward, fulgur_model_set_training, &
    fulgur_model_num_parameters, fulgur_model_zero_grad
  public :: fulgur_loss
  public :: fulgur_optimizer_sgd, fulgur_optimizer_adam, fulgur_optimizer_adamw, fulgur_optimizer_destroy, &
    fulgur_optimizer_step, fulgur_optimizer_zero_grad, fulgur_optimizer_get_lr, fulgur_optimizer_set_lr
  public :: fulgur_checkpoint_save, fulgur_checkpoint_load
  public :: fulgur_session_from_onnx, fulgur_session_from_model, fulgur_session_destroy, fulgur_session_run
  public :: fulgur_trainer_create, fulgur_trainer_create_mpi, fulgur_trainer_destroy, fulgur_trainer_begin, &
    fulgur_trainer_step, fulgur_trainer_validate, fulgur_trainer_epoch_end, fulgur_trainer_end, &
    fulgur_trainer_should_stop, fulgur_trainer_global_step, fulgur_trainer_current_epoch, &
    fulgur_trainer_save_checkpoint, fulgur_trainer_set_lr_schedule, fulgur_trainer_set_callbacks

  ! x(:), x(:,:), ... of real(c_float), real(c_double) or integer(c_int64_t) -> a tensor over it.
  interface fulgur_tensor_from_array
    module procedure from_f32_1, from_f32_2, from_f32_3, from_f32_4, from_f64_1, from_f64_2, from_i64_1
  end interface
  ! The tensor's elements into an array of the same (reversed) shape, e.g. y(n_out, n_batch).
  interface fulgur_tensor_copy_to_array
    module procedure copy_to_f32_1, copy_to_f32_2, copy_to_f64_2
  end interface

  ! ---- the C functions ----------------------------------------------------------------------
  interface
    function fulgur_abi_version() bind(c, name="fulgur_abi_version")
      import :: c_int32_t
      integer(c_int32_t) :: fulgur_abi_version
    end function
    function c_last_error() bind(c, name="fulgur_last_error")
      import :: c_ptr
      type(c_ptr) :: c_last_error
    end function
    function c_strlen(s) bind(c, name="strlen")
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
      integer(c_size_t) :: c_strlen
    end function
    function c_tensor_from_data(data, dtype, ndim, sizes, strides, device, out) &
        bind(c, name="fulgur_tensor_from_data")
      import :: c_ptr, c_int, c_int32_t, c_int64_t, c_device
      type(c_ptr), value :: data
      integer(c_int), value :: dtype
      integer(c_int32_t), value :: ndim
      integer(c_int64_t), intent(in) :: sizes(*)
      type(c_ptr), value :: strides
      type(c_device), value :: device
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_tensor_from_data
    end function
    subroutine c_tensor_destroy(t) bind(c, name="fulgur_tensor_destroy")
      import :: c_ptr
      type(c_ptr), value :: t
    end subroutine
    function c_tensor_numel(t, n) bind(c, name="fulgur_tensor_numel")
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: t
      integer(c_int64_t), intent(out) :: n
      integer(c_int) :: c_tensor_numel
    end function
    function c_tensor_copy_to(t, dst, nbytes) bind(c, name="fulgur_tensor_copy_to")
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), value :: t, dst
      integer(c_size_t), value :: nbytes
      integer(c_int) :: c_tensor_copy_to
    end function
    function c_tensor_item(t, v) bind(c, name="fulgur_tensor_item")
      import :: c_ptr, c_int, c_double
      type(c_ptr), value :: t
      real(c_double), intent(out) :: v
      integer(c_int) :: c_tensor_item
    end function
    function c_tensor_backward(t) bind(c, name="fulgur_tensor_backward")
      import :: c_ptr, c_int
      type(c_ptr), value :: t
      integer(c_int) :: c_tensor_backward
    end function
    function c_model_create(seed, out) bind(c, name="fulgur_model_create")
      import :: c_ptr, c_int, c_int64_t
      integer(c_int64_t), value :: seed
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_model_create
    end function
    subroutine c_model_destroy(m) bind(c, name="fulgur_model_destroy")
      import :: c_ptr
      type(c_ptr), value :: m
    end subroutine
    function c_model_add_linear(m, n_in, n_out, bias) bind(c, name="fulgur_model_add_linear")
      import :: c_ptr, c_int, c_int32_t, c_int64_t
      type(c_ptr), value :: m
      integer(c_int64_t), value :: n_in, n_out
      integer(c_int32_t), value :: bias
      integer(c_int) :: c_model_add_linear
    end function
    function c_model_add_relu(m) bind(c, name="fulgur_model_add_relu")
      import :: c_ptr, c_int
      type(c_ptr), value :: m
      integer(c_int) :: c_model_add_relu
    end function
    function c_model_add_tanh(m) bind(c, name="fulgur_model_add_tanh")
      import :: c_ptr, c_int
      type(c_ptr), value :: m
      integer(c_int) :: c_model_add_tanh
    end function
    function c_model_add_sigmoid(m) bind(c, name="fulgur_model_add_sigmoid")
      import :: c_ptr, c_int
      type(c_ptr), value :: m
      integer(c_int) :: c_model_add_sigmoid
    end function
    function c_model_add_gelu(m, approximate_tanh) bind(c, name="fulgur_model_add_gelu")
      import :: c_ptr, c_int, c_int32_t
      type(c_ptr), value :: m
      integer(c_int32_t), value :: approximate_tanh
      integer(c_int) :: c_model_add_gelu
    end function
    function c_model_add_dropout(m, p) bind(c, name="fulgur_model_add_dropout")
      import :: c_ptr, c_int, c_double
      type(c_ptr), value :: m
      real(c_double), value :: p
      integer(c_int) :: c_model_add_dropout
    end function
    function c_model_add_layer_norm(m, n, eps) bind(c, name="fulgur_model_add_layer_norm")
      import :: c_ptr, c_int, c_int64_t, c_double
      type(c_ptr), value :: m
      integer(c_int64_t), value :: n
      real(c_double), value :: eps
      integer(c_int) :: c_model_add_layer_norm
    end function
    function c_model_add_onnx(m, path) bind(c, name="fulgur_model_add_onnx")
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: m
      character(kind=c_char), intent(in) :: path(*)
      integer(c_int) :: c_model_add_onnx
    end function
    function c_model_forward(m, x, out) bind(c, name="fulgur_model_forward")
      import :: c_ptr, c_int
      type(c_ptr), value :: m, x
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_model_forward
    end function
    function c_model_set_training(m, on) bind(c, name="fulgur_model_set_training")
      import :: c_ptr, c_int, c_int32_t
      type(c_ptr), value :: m
      integer(c_int32_t), value :: on
      integer(c_int) :: c_model_set_training
    end function
    function c_model_num_parameters(m, n) bind(c, name="fulgur_model_num_parameters")
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: m
      integer(c_int64_t), intent(out) :: n
      integer(c_int) :: c_model_num_parameters
    end function
    function c_model_zero_grad(m) bind(c, name="fulgur_model_zero_grad")
      import :: c_ptr, c_int
      type(c_ptr), value :: m
      integer(c_int) :: c_model_zero_grad
    end function
    function c_loss(kind, input, target, out) bind(c, name="fulgur_loss")
      import :: c_ptr, c_int
      integer(c_int), value :: kind
      type(c_ptr), value :: input, target
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_loss
    end function
    function c_optimizer_sgd(m, lr, momentum, weight_decay, nesterov, out) bind(c, name="fulgur_optimizer_sgd")
      import :: c_ptr, c_int, c_int32_t, c_double
      type(c_ptr), value :: m
      real(c_double), value :: lr, momentum, weight_decay
      integer(c_int32_t), value :: nesterov
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_optimizer_sgd
    end function
    function c_optimizer_adam(m, lr, beta1, beta2, eps, weight_decay, out) bind(c, name="fulgur_optimizer_adam")
      import :: c_ptr, c_int, c_double
      type(c_ptr), value :: m
      real(c_double), value :: lr, beta1, beta2, eps, weight_decay
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_optimizer_adam
    end function
    function c_optimizer_adamw(m, lr, beta1, beta2, eps, weight_decay, out) bind(c, name="fulgur_optimizer_adamw")
      import :: c_ptr, c_int, c_double
      type(c_ptr), value :: m
      real(c_double), value :: lr, beta1, beta2, eps, weight_decay
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_optimizer_adamw
    end function
    subroutine c_optimizer_destroy(o) bind(c, name="fulgur_optimizer_destroy")
      import :: c_ptr
      type(c_ptr), value :: o
    end subroutine
    function c_optimizer_step(o) bind(c, name="fulgur_optimizer_step")
      import :: c_ptr, c_int
      type(c_ptr), value :: o
      integer(c_int) :: c_optimizer_step
    end function
    function c_optimizer_zero_grad(o) bind(c, name="fulgur_optimizer_zero_grad")
      import :: c_ptr, c_int
      type(c_ptr), value :: o
      integer(c_int) :: c_optimizer_zero_grad
    end function
    function c_optimizer_get_lr(o, lr) bind(c, name="fulgur_optimizer_get_lr")
      import :: c_ptr, c_int, c_double
      type(c_ptr), value :: o
      real(c_double), intent(out) :: lr
      integer(c_int) :: c_optimizer_get_lr
    end function
    function c_optimizer_set_lr(o, lr) bind(c, name="fulgur_optimizer_set_lr")
      import :: c_ptr, c_int, c_double
      type(c_ptr), value :: o
      real(c_double), value :: lr
      integer(c_int) :: c_optimizer_set_lr
    end function
    function c_checkpoint_save(m, o, path) bind(c, name="fulgur_checkpoint_save")
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: m, o
      character(kind=c_char), intent(in) :: path(*)
      integer(c_int) :: c_checkpoint_save
    end function
    function c_checkpoint_load(m, o, path, prefix) bind(c, name="fulgur_checkpoint_load")
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: m, o
      character(kind=c_char), intent(in) :: path(*), prefix(*)
      integer(c_int) :: c_checkpoint_load
    end function
    function c_session_from_onnx(path, out) bind(c, name="fulgur_session_from_onnx")
      import :: c_ptr, c_int, c_char
      character(kind=c_char), intent(in) :: path(*)
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_session_from_onnx
    end function
    function c_session_from_model(m, out) bind(c, name="fulgur_session_from_model")
      import :: c_ptr, c_int
      type(c_ptr), value :: m
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_session_from_model
    end function
    subroutine c_session_destroy(s) bind(c, name="fulgur_session_destroy")
      import :: c_ptr
      type(c_ptr), value :: s
    end subroutine
    function c_session_run(s, n_in, inputs, n_out, outputs) bind(c, name="fulgur_session_run")
      import :: c_ptr, c_int, c_int32_t
      type(c_ptr), value :: s
      integer(c_int32_t), value :: n_in, n_out
      type(c_ptr), intent(in) :: inputs(*), outputs(*)
      integer(c_int) :: c_session_run
    end function
    function c_trainer_create(options, out) bind(c, name="fulgur_trainer_create")
      import :: c_ptr, c_int, c_trainer_options
      type(c_trainer_options), intent(in) :: options
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_trainer_create
    end function
    function c_trainer_create_mpi(options, comm, out) bind(c, name="fulgur_trainer_create_mpi")
      import :: c_ptr, c_int, c_trainer_options
      type(c_trainer_options), intent(in) :: options
      integer(c_int), value :: comm  ! MPI_Fint
      type(c_ptr), intent(out) :: out
      integer(c_int) :: c_trainer_create_mpi
    end function
    subroutine c_trainer_destroy(t) bind(c, name="fulgur_trainer_destroy")
      import :: c_ptr
      type(c_ptr), value :: t
    end subroutine
    function c_trainer_begin(t, m, o, loss, ckpt_path) bind(c, name="fulgur_trainer_begin")
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: t, m, o
      integer(c_int), value :: loss
      character(kind=c_char), intent(in) :: ckpt_path(*)
      integer(c_int) :: c_trainer_begin
    end function
    function c_trainer_step(t, x, y, loss) bind(c, name="fulgur_trainer_step")
      import :: c_ptr, c_int, c_double
      type(c_ptr), value :: t, x, y
      real(c_double), intent(out) :: loss
      integer(c_int) :: c_trainer_step
    end function
    function c_trainer_validate(t, x, y, loss) bind(c, name="fulgur_trainer_validate")
      import :: c_ptr, c_int, c_double
      type(c_ptr), value :: t, x, y
      real(c_double), intent(out) :: loss
      integer(c_int) :: c_trainer_validate
    end function
    function c_trainer_epoch_end(t) bind(c, name="fulgur_trainer_epoch_end")
      import :: c_ptr, c_int
      type(c_ptr), value :: t
      integer(c_int) :: c_trainer_epoch_end
    end function
    function c_trainer_end(t) bind(c, name="fulgur_trainer_end")
      import :: c_ptr, c_int
      type(c_ptr), value :: t
      integer(c_int) :: c_trainer_end
    end function
    function c_trainer_should_stop(t, stop) bind(c, name="fulgur_trainer_should_stop")
      import :: c_ptr, c_int, c_int32_t
      type(c_ptr), value :: t
      integer(c_int32_t), intent(out) :: stop
      integer(c_int) :: c_trainer_should_stop
    end function
    function c_trainer_global_step(t, step) bind(c, name="fulgur_trainer_global_step")
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: t
      integer(c_int64_t), intent(out) :: step
      integer(c_int) :: c_trainer_global_step
    end function
    function c_trainer_current_epoch(t, epoch) bind(c, name="fulgur_trainer_current_epoch")
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: t
      integer(c_int64_t), intent(out) :: epoch
      integer(c_int) :: c_trainer_current_epoch
    end function
    function c_trainer_save_checkpoint(t, path) bind(c, name="fulgur_trainer_save_checkpoint")
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: t
      character(kind=c_char), intent(in) :: path(*)
      integer(c_int) :: c_trainer_save_checkpoint
    end function
    function c_trainer_set_lr_schedule(t, schedule, param1, param2, every_n_steps) &
        bind(c, name="fulgur_trainer_set_lr_schedule")
      import :: c_ptr, c_int, c_double, c_int64_t
      type(c_ptr), value :: t
      integer(c_int), value :: schedule
      real(c_double), value :: param1, param2
      integer(c_int64_t), value :: every_n_steps
      integer(c_int) :: c_trainer_set_lr_schedule
    end function
    function c_trainer_set_callbacks(t, on_batch, on_validation, user_data) &
        bind(c, name="fulgur_trainer_set_callbacks")
      import :: c_ptr, c_int, c_funptr
      type(c_ptr), value :: t
      type(c_funptr), value :: on_batch, on_validation
      type(c_ptr), value :: user_data
      integer(c_int) :: c_trainer_set_callbacks
    end function
  end interface

contains

  ! ---- errors ------------------------------------------------------------------------------

  ! The calling thread's last error message ("" if none), as a Fortran string.
  function fulgur_last_error() result(message)
    character(len=:), allocatable :: message
    type(c_ptr) :: p
    character(kind=c_char), pointer :: chars(:)
    integer :: i, n
    p = c_last_error()
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate(character(len=n) :: message)
    do i = 1, n
      message(i:i) = chars(i)
    end do
  end function

  ! A Fortran string as a NUL-terminated C string.
  pure function c_string(s) result(c)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=len_trim(s) + 1) :: c
    c = trim(s) // c_null_char
  end function

  ! ---- tensors -------------------------------------------------------------------------------

  ! Wraps `data` (the address of a contiguous array) as a row-major tensor of shape reversed.
  integer(c_int) function wrap(data, dtype, shape, t) result(status)
    type(c_ptr), intent(in) :: data
    integer(c_int), intent(in) :: dtype
    integer(c_int64_t), intent(in) :: shape(:)
    type(fulgur_tensor), intent(out) :: t
    integer(c_int64_t) :: sizes(size(shape))
    integer :: d
    do d = 1, size(shape)
      sizes(d) = shape(size(shape) + 1 - d)
    end do
    status = c_tensor_from_data(data, dtype, int(size(shape), c_int32_t), sizes, c_null_ptr, &
                                c_device(0_c_int32_t, 0_c_int32_t), t%ptr)
  end function

  integer(c_int) function from_f32_1(x, t) result(status)
    real(c_float), target, contiguous, intent(inout) :: x(:)
    type(fulgur_tensor), intent(out) :: t
    status = wrap(c_loc(x), FULGUR_FLOAT32, shape(x, kind=c_int64_t), t)
  end function
  integer(c_int) function from_f32_2(x, t) result(status)
    real(c_float), target, contiguous, intent(inout) :: x(:, :)
    type(fulgur_tensor), intent(out) :: t
    status = wrap(c_loc(x), FULGUR_FLOAT32, shape(x, kind=c_int64_t), t)
  end function
  integer(c_int) function from_f32_3(x, t) result(status)
    real(c_float), target, contiguous, intent(inout) :: x(:, :, :)
    type(fulgur_tensor), intent(out) :: t
    status = wrap(c_loc(x), FULGUR_FLOAT32, shape(x, kind=c_int64_t), t)
  end function
  integer(c_int) function from_f32_4(x, t) result(status)
    real(c_float), target, contiguous, intent(inout) :: x(:, :, :, :)
    type(fulgur_tensor), intent(out) :: t
    status = wrap(c_loc(x), FULGUR_FLOAT32, shape(x, kind=c_int64_t), t)
  end function
  integer(c_int) function from_f64_1(x, t) result(status)
    real(c_double), target, contiguous, intent(inout) :: x(:)
    type(fulgur_tensor), intent(out) :: t
    status = wrap(c_loc(x), FULGUR_FLOAT64, shape(x, kind=c_int64_t), t)
  end function
  integer(c_int) function from_f64_2(x, t) result(status)
    real(c_double), target, contiguous, intent(inout) :: x(:, :)
    type(fulgur_tensor), intent(out) :: t
    status = wrap(c_loc(x), FULGUR_FLOAT64, shape(x, kind=c_int64_t), t)
  end function
  integer(c_int) function from_i64_1(x, t) result(status)
    integer(c_int64_t), target, contiguous, intent(inout) :: x(:)
    type(fulgur_tensor), intent(out) :: t
    status = wrap(c_loc(x), FULGUR_INT64, shape(x, kind=c_int64_t), t)
  end function

  subroutine fulgur_tensor_destroy(t)
    type(fulgur_tensor), intent(inout) :: t
    call c_tensor_destroy(t%ptr)
    t%ptr = c_null_ptr
  end subroutine

  integer(c_int) function fulgur_tensor_numel(t, n) result(status)
    type(fulgur_tensor), intent(in) :: t
    integer(c_int64_t), intent(out) :: n
    status = c_tensor_numel(t%ptr, n)
  end function

  integer(c_int) function copy_to_f32_1(t, x) result(status)
    type(fulgur_tensor), intent(in) :: t
    real(c_float), target, contiguous, intent(inout) :: x(:)
    status = c_tensor_copy_to(t%ptr, c_loc(x), int(size(x), c_size_t) * c_sizeof(0.0_c_float))
  end function
  integer(c_int) function copy_to_f32_2(t, x) result(status)
    type(fulgur_tensor), intent(in) :: t
    real(c_float), target, contiguous, intent(inout) :: x(:, :)
    status = c_tensor_copy_to(t%ptr, c_loc(x), int(size(x), c_size_t) * c_sizeof(0.0_c_float))
  end function
  integer(c_int) function copy_to_f64_2(t, x) result(status)
    type(fulgur_tensor), intent(in) :: t
    real(c_double), target, contiguous, intent(inout) :: x(:, :)
    status = c_tensor_copy_to(t%ptr, c_loc(x), int(size(x), c_size_t) * c_sizeof(0.0_c_double))
  end function

  integer(c_int) function fulgur_tensor_item(t, value) result(status)
    type(fulgur_tensor), intent(in) :: t
    real(c_double), intent(out) :: value
    status = c_tensor_item(t%ptr, value)
  end function

  integer(c_int) function fulgur_tensor_backward(t) result(status)
    type(fulgur_tensor), intent(in) :: t
    status = c_tensor_backward(t%ptr)
  end function

  ! ---- models --------------------------------------------------------------------------------

  integer(c_int) function fulgur_model_create(seed, m) result(status)
    integer(c_int64_t), intent(in) :: seed
    type(fulgur_model), intent(out) :: m
    status = c_model_create(seed, m%ptr)
  end function

  subroutine fulgur_model_destroy(m)
    type(fulgur_model), intent(inout) :: m
    call c_model_destroy(m%ptr)
    m%ptr = c_null_ptr
  end subroutine

  integer(c_int) function fulgur_model_add_linear(m, n_in, n_out, bias) result(status)
    type(fulgur_model), intent(in) :: m
    integer, intent(in) :: n_in, n_out
    logical, intent(in), optional :: bias  ! default .true.
    integer(c_int32_t) :: b
    b = 1
    if (present(bias)) then
      if (.not. bias) b = 0
    end if
    status = c_model_add_linear(m%ptr, int(n_in, c_int64_t), int(n_out, c_int64_t), b)
  end function

  integer(c_int) function fulgur_model_add_relu(m) result(status)
    type(fulgur_model), intent(in) :: m
    status = c_model_add_relu(m%ptr)
  end function
  integer(c_int) function fulgur_model_add_tanh(m) result(status)
    type(fulgur_model), intent(in) :: m
    status = c_model_add_tanh(m%ptr)
  end function
  integer(c_int) function fulgur_model_add_sigmoid(m) result(status)
    type(fulgur_model), intent(in) :: m
    status = c_model_add_sigmoid(m%ptr)
  end function
  integer(c_int) function fulgur_model_add_gelu(m, approximate_tanh) result(status)
    type(fulgur_model), intent(in) :: m
    logical, intent(in) :: approximate_tanh
    status = c_model_add_gelu(m%ptr, merge(1_c_int32_t, 0_c_int32_t, approximate_tanh))
  end function
  integer(c_int) function fulgur_model_add_dropout(m, p) result(status)
    type(fulgur_model), intent(in) :: m
    real(c_double), intent(in) :: p
    status = c_model_add_dropout(m%ptr, p)
  end function
  integer(c_int) function fulgur_model_add_layer_norm(m, n, eps) result(status)
    type(fulgur_model), intent(in) :: m
    integer, intent(in) :: n
    real(c_double), intent(in) :: eps
    status = c_model_add_layer_norm(m%ptr, int(n, c_int64_t), eps)
  end function

  ! An ONNX file (one input, one output) as the next layer, trainable (fulgur_c.h).
  integer(c_int) function fulgur_model_add_onnx(m, path) result(status)
    type(fulgur_model), intent(in) :: m
    character(len=*), intent(in) :: path
    status = c_model_add_onnx(m%ptr, c_string(path))
  end function

  ! y = model(x): y receives a new tensor; on success the tensor y held before (if any) is
  ! destroyed, so that a time loop can reuse y. Destroy the last one yourself.
  integer(c_int) function fulgur_model_forward(m, x, y) result(status)
    type(fulgur_model), intent(in) :: m
    type(fulgur_tensor), intent(in) :: x
    type(fulgur_tensor), intent(inout) :: y
    type(c_ptr) :: result
    status = c_model_forward(m%ptr, x%ptr, result)
    if (status == FULGUR_OK) call replace(y, result)
  end function

  subroutine replace(t, p)
    type(fulgur_tensor), intent(inout) :: t
    type(c_ptr), intent(in) :: p
    call c_tensor_destroy(t%ptr)
    t%ptr = p
  end subroutine

  integer(c_int) function fulgur_model_set_training(m, training) result(status)
    type(fulgur_model), intent(in) :: m
    logical, intent(in) :: training
    status = c_model_set_training(m%ptr, merge(1_c_int32_t, 0_c_int32_t, training))
  end function

  integer(c_int) function fulgur_model_num_parameters(m, n) result(status)
    type(fulgur_model), intent(in) :: m
    integer(c_int64_t), intent(out) :: n
    status = c_model_num_parameters(m%ptr, n)
  end function

  integer(c_int) function fulgur_model_zero_grad(m) result(status)
    type(fulgur_model), intent(in) :: m
    status = c_model_zero_grad(m%ptr)
  end function

  ! ---- losses and optimizers -----------------------------------------------------------------

  ! loss = mean-reduced loss of `kind` (FULGUR_LOSS_*): a new tensor, replacing the one loss
  ! held before as fulgur_model_forward does.
  integer(c_int) function fulgur_loss(kind, input, target, loss) result(status)
    integer(c_int), intent(in) :: kind
    type(fulgur_tensor), intent(in) :: input, target
    type(fulgur_tensor), intent(inout) :: loss
    type(c_ptr) :: result
    status = c_loss(kind, input%ptr, target%ptr, result)
    if (status == FULGUR_OK) call replace(loss, result)
  end function

  integer(c_int) function fulgur_optimizer_sgd(m, lr, o, momentum, weight_decay, nesterov) result(status)
    type(fulgur_model), intent(in) :: m
    real(c_double), intent(in) :: lr
    type(fulgur_optimizer), intent(out) :: o
    real(c_double), intent(in), optional :: momentum, weight_decay  ! default 0
    logical, intent(in), optional :: nesterov                       ! default .false.
    real(c_double) :: mom, wd
    integer(c_int32_t) :: nest
    mom = 0
    wd = 0
    nest = 0
    if (present(momentum)) mom = momentum
    if (present(weight_decay)) wd = weight_decay
    if (present(nesterov)) nest = merge(1_c_int32_t, 0_c_int32_t, nesterov)
    status = c_optimizer_sgd(m%ptr, lr, mom, wd, nest, o%ptr)
  end function

  ! Adam / AdamW with betas (0.9, 0.999) and eps 1e-8; weight_decay default 0 (Adam), 0.01 (AdamW).
  integer(c_int) function fulgur_optimizer_adam(m, lr, o, weight_decay) result(status)
    type(fulgur_model), intent(in) :: m
    real(c_double), intent(in) :: lr
    type(fulgur_optimizer), intent(out) :: o
    real(c_double), intent(in), optional :: weight_decay
    real(c_double) :: wd
    wd = 0
    if (present(weight_decay)) wd = weight_decay
    status = c_optimizer_adam(m%ptr, lr, 0.9_c_double, 0.999_c_double, 1e-8_c_double, wd, o%ptr)
  end function
  integer(c_int) function fulgur_optimizer_adamw(m, lr, o, weight_decay) result(status)
    type(fulgur_model), intent(in) :: m
    real(c_double), intent(in) :: lr
    type(fulgur_optimizer), intent(out) :: o
    real(c_double), intent(in), optional :: weight_decay
    real(c_double) :: wd
    wd = 0.01_c_double
    if (present(weight_decay)) wd = weight_decay
    status = c_optimizer_adamw(m%ptr, lr, 0.9_c_double, 0.999_c_double, 1e-8_c_double, wd, o%ptr)
  end function

  subroutine fulgur_optimizer_destroy(o)
    type(fulgur_optimizer), intent(inout) :: o
    call c_optimizer_destroy(o%ptr)
    o%ptr = c_null_ptr
  end subroutine

  integer(c_int) function fulgur_optimizer_step(o) result(status)
    type(fulgur_optimizer), intent(in) :: o
    status = c_optimizer_step(o%ptr)
  end function
  integer(c_int) function fulgur_optimizer_zero_grad(o) result(status)
    type(fulgur_optimizer), intent(in) :: o
    status = c_optimizer_zero_grad(o%ptr)
  end function
  integer(c_int) function fulgur_optimizer_get_lr(o, lr) result(status)
    type(fulgur_optimizer), intent(in) :: o
    real(c_double), intent(out) :: lr
    status = c_optimizer_get_lr(o%ptr, lr)
  end function
  integer(c_int) function fulgur_optimizer_set_lr(o, lr) result(status)
    type(fulgur_optimizer), intent(in) :: o
    real(c_double), intent(in) :: lr
    status = c_optimizer_set_lr(o%ptr, lr)
  end function

  ! ---- checkpoints ---------------------------------------------------------------------------

  ! Saves the model and, if present, the optimizer (atomically).
  integer(c_int) function fulgur_checkpoint_save(m, path, o) result(status)
    type(fulgur_model), intent(in) :: m
    character(len=*), intent(in) :: path
    type(fulgur_optimizer), intent(in), optional :: o
    type(c_ptr) :: op
    op = c_null_ptr
    if (present(o)) op = o%ptr
    status = c_checkpoint_save(m%ptr, op, c_string(path))
  end function

  ! Loads into the model (and optimizer, if present); key_prefix as in the C ABI ("net.").
  integer(c_int) function fulgur_checkpoint_load(m, path, o, key_prefix) result(status)
    type(fulgur_model), intent(in) :: m
    character(len=*), intent(in) :: path
    type(fulgur_optimizer), intent(in), optional :: o
    character(len=*), intent(in), optional :: key_prefix
    type(c_ptr) :: op
    op = c_null_ptr
    if (present(o)) op = o%ptr
    if (present(key_prefix)) then
      status = c_checkpoint_load(m%ptr, op, c_string(path), c_string(key_prefix))
    else
      status = c_checkpoint_load(m%ptr, op, c_string(path), c_string(""))
    end if
  end function

  ! ---- inference sessions --------------------------------------------------------------------

  integer(c_int) function fulgur_session_from_onnx(path, s) result(status)
    character(len=*), intent(in) :: path
    type(fulgur_session), intent(out) :: s
    status = c_session_from_onnx(c_string(path), s%ptr)
  end function

  integer(c_int) function fulgur_session_from_model(m, s) result(status)
    type(fulgur_model), intent(in) :: m
    type(fulgur_session), intent(out) :: s
    status = c_session_from_model(m%ptr, s%ptr)
  end function

  subroutine fulgur_session_destroy(s)
    type(fulgur_session), intent(inout) :: s
    call c_session_destroy(s%ptr)
    s%ptr = c_null_ptr
  end subroutine

  ! Runs the session; the results are written into the outputs' memory (typically the
  ! caller's arrays, wrapped with fulgur_tensor_from_array).
  integer(c_int) function fulgur_session_run(s, inputs, outputs) result(status)
    type(fulgur_session), intent(in) :: s
    type(fulgur_tensor), intent(in) :: inputs(:), outputs(:)
    type(c_ptr) :: in_ptrs(size(inputs)), out_ptrs(size(outputs))
    integer :: i
    do i = 1, size(inputs)
      in_ptrs(i) = inputs(i)%ptr
    end do
    do i = 1, size(outputs)
      out_ptrs(i) = outputs(i)%ptr
    end do
    status = c_session_run(s%ptr, int(size(inputs), c_int32_t), in_ptrs, int(size(outputs), c_int32_t), out_ptrs)
  end function

  ! ---- the Trainer, driven by the host's loop ------------------------------------------------

  ! A NUL-terminated copy of s for a `const char*` option (an unallocated s stays NULL).
  subroutine c_chars(s, chars, ptr)
    character(len=:), allocatable, intent(in) :: s
    character(kind=c_char), allocatable, target, intent(inout) :: chars(:)
    type(c_ptr), intent(out) :: ptr
    integer :: i
    ptr = c_null_ptr
    if (.not. allocated(s)) return
    allocate(chars(len(s) + 1))
    do i = 1, len(s)
      chars(i) = s(i:i)
    end do
    chars(len(s) + 1) = c_null_char
    ptr = c_loc(chars)
  end subroutine

  ! Calls create (or create_mpi when comm is present) with options as the C struct; the
  ! strings only need to live for the call (the Trainer copies them).
  integer(c_int) function create_trainer(options, t, comm) result(status)
    type(fulgur_trainer_options), intent(in) :: options
    type(fulgur_trainer), intent(out) :: t
    integer, intent(in), optional :: comm
    type(c_trainer_options) :: c
    character(kind=c_char), allocatable, target :: root(:), checkpoints(:), monitor(:)
    c%max_steps = options%max_steps
    c%accumulate_grad_batches = options%accumulate_grad_batches
    c%gradient_clip_val = options%gradient_clip_val
    c%log_every_n_steps = options%log_every_n_steps
    call c_chars(options%default_root_dir, root, c%default_root_dir)
    c%csv_logger = merge(1_c_int32_t, 0_c_int32_t, options%csv_logger)
    call c_chars(options%checkpoint_dir, checkpoints, c%checkpoint_dir)
    call c_chars(options%monitor, monitor, c%monitor)
    c%save_top_k = options%save_top_k
    c%save_last = merge(1_c_int32_t, 0_c_int32_t, options%save_last)
    c%early_stopping_patience = options%early_stopping_patience
    c%ddp = merge(1_c_int32_t, 0_c_int32_t, options%ddp)
    c%reserved = 0
    if (present(comm)) then
      status = c_trainer_create_mpi(c, int(comm, c_int), t%ptr)
    else
      status = c_trainer_create(c, t%ptr)
    end if
  end function

  integer(c_int) function fulgur_trainer_create(options, t) result(status)
    type(fulgur_trainer_options), intent(in) :: options
    type(fulgur_trainer), intent(out) :: t
    status = create_trainer(options, t)
  end function

  ! DDP over the ranks of the host's communicator `comm` (every rank calls it); fulgur never
  ! initialises or finalises MPI. options%ddp is ignored.
  integer(c_int) function fulgur_trainer_create_mpi(options, comm, t) result(status)
    type(fulgur_trainer_options), intent(in) :: options
    integer, intent(in) :: comm
    type(fulgur_trainer), intent(out) :: t
    status = create_trainer(options, t, comm)
  end function

  subroutine fulgur_trainer_destroy(t)
    type(fulgur_trainer), intent(inout) :: t
    call c_trainer_destroy(t%ptr)
    t%ptr = c_null_ptr
  end subroutine

  ! Starts a fit of model with optimizer and a FULGUR_LOSS_* loss; ckpt_path resumes from a
  ! checkpoint the Trainer wrote.
  integer(c_int) function fulgur_trainer_begin(t, m, o, loss, ckpt_path) result(status)
    type(fulgur_trainer), intent(in) :: t
    type(fulgur_model), intent(in) :: m
    type(fulgur_optimizer), intent(in) :: o
    integer(c_int), intent(in) :: loss
    character(len=*), intent(in), optional :: ckpt_path
    if (present(ckpt_path)) then
      status = c_trainer_begin(t%ptr, m%ptr, o%ptr, loss, c_string(ckpt_path))
    else
      status = c_trainer_begin(t%ptr, m%ptr, o%ptr, loss, c_string(""))
    end if
  end function

  ! One training batch; loss (optional) gets its loss.
  integer(c_int) function fulgur_trainer_step(t, x, y, loss) result(status)
    type(fulgur_trainer), intent(in) :: t
    type(fulgur_tensor), intent(in) :: x, y
    real(c_double), intent(out), optional :: loss
    real(c_double) :: value
    status = c_trainer_step(t%ptr, x%ptr, y%ptr, value)
    if (status == FULGUR_OK .and. present(loss)) loss = value
  end function

  ! The validation loop on one batch; val_loss (optional) gets its loss.
  integer(c_int) function fulgur_trainer_validate(t, x, y, val_loss) result(status)
    type(fulgur_trainer), intent(in) :: t
    type(fulgur_tensor), intent(in) :: x, y
    real(c_double), intent(out), optional :: val_loss
    real(c_double) :: value
    status = c_trainer_validate(t%ptr, x%ptr, y%ptr, value)
    if (status == FULGUR_OK .and. present(val_loss)) val_loss = value
  end function

  integer(c_int) function fulgur_trainer_epoch_end(t) result(status)
    type(fulgur_trainer), intent(in) :: t
    status = c_trainer_epoch_end(t%ptr)
  end function

  integer(c_int) function fulgur_trainer_end(t) result(status)
    type(fulgur_trainer), intent(in) :: t
    status = c_trainer_end(t%ptr)
  end function

  ! stop: .true. when early stopping or max_steps asks the host to stop training.
  integer(c_int) function fulgur_trainer_should_stop(t, stop) result(status)
    type(fulgur_trainer), intent(in) :: t
    logical, intent(out) :: stop
    integer(c_int32_t) :: flag
    status = c_trainer_should_stop(t%ptr, flag)
    stop = flag /= 0
  end function

  integer(c_int) function fulgur_trainer_global_step(t, step) result(status)
    type(fulgur_trainer), intent(in) :: t
    integer(c_int64_t), intent(out) :: step
    status = c_trainer_global_step(t%ptr, step)
  end function

  integer(c_int) function fulgur_trainer_current_epoch(t, epoch) result(status)
    type(fulgur_trainer), intent(in) :: t
    integer(c_int64_t), intent(out) :: epoch
    status = c_trainer_current_epoch(t%ptr, epoch)
  end function

  ! The Trainer's checkpoint (rank 0 writes under DDP), atomically.
  integer(c_int) function fulgur_trainer_save_checkpoint(t, path) result(status)
    type(fulgur_trainer), intent(in) :: t
    character(len=*), intent(in) :: path
    status = c_trainer_save_checkpoint(t%ptr, c_string(path))
  end function

  ! FULGUR_LR_* with its two parameters (see fulgur_c.h); every_n_steps 0 (the default) steps
  ! it at each epoch end, n every n optimizer steps. Before begin.
  integer(c_int) function fulgur_trainer_set_lr_schedule(t, schedule, param1, param2, every_n_steps) result(status)
    type(fulgur_trainer), intent(in) :: t
    integer(c_int), intent(in) :: schedule
    real(c_double), intent(in) :: param1, param2
    integer, intent(in), optional :: every_n_steps
    integer(c_int64_t) :: n
    n = 0
    if (present(every_n_steps)) n = int(every_n_steps, c_int64_t)
    status = c_trainer_set_lr_schedule(t%ptr, schedule, param1, param2, n)
  end function

  ! The host's callbacks (absent: none) and the user_data pointer they receive (absent: NULL).
  integer(c_int) function fulgur_trainer_set_callbacks(t, on_train_batch_end, on_validation_end, user_data) &
      result(status)
    type(fulgur_trainer), intent(in) :: t
    procedure(fulgur_step_callback), optional :: on_train_batch_end, on_validation_end
    type(c_ptr), intent(in), optional :: user_data
    type(c_funptr) :: on_batch, on_validation
    type(c_ptr) :: user
    on_batch = c_null_funptr
    on_validation = c_null_funptr
    user = c_null_ptr
    if (present(on_train_batch_end)) on_batch = c_funloc(on_train_batch_end)
    if (present(on_validation_end)) on_validation = c_funloc(on_validation_end)
    if (present(user_data)) user = user_data
    status = c_trainer_set_callbacks(t%ptr, on_batch, on_validation, user)
  end function

end module fulgur
