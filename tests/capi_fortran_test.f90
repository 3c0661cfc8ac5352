! module fulgur from Fortran: trains a 3 -> 4 -> 1 MLP (tanh, SGD with Nesterov momentum) on
! Fortran arrays passed without copies, and checks that the losses decrease AND equal, bit for
! bit, those of the same training done with the C++ API (tests/capi_fortran_reference.cc, on
! the same arrays). Then: inference into a Fortran array, a checkpoint round trip, and an
! error status with its message.
! The host-driven Trainer is then checked the same way: its step losses equal the loop's,
! its callback sees every batch, and its checkpoint loads back into a model.

! The Trainer's callback (a module procedure: BIND(C) is not allowed on internal ones).
module trainer_callbacks
  use, intrinsic :: iso_c_binding
  implicit none
  integer(c_int64_t) :: last_step = -1
  real(c_double) :: last_loss = -1
contains
  ! user_data points to the program's batch counter.
  subroutine on_batch(user_data, step, value) bind(c)
    type(c_ptr), value :: user_data
    integer(c_int64_t), value :: step
    real(c_double), value :: value
    integer, pointer :: batches
    call c_f_pointer(user_data, batches)
    batches = batches + 1
    last_step = step
    last_loss = value
  end subroutine
end module trainer_callbacks

program capi_fortran_test
  use, intrinsic :: iso_c_binding
  use fulgur
  use trainer_callbacks
  implicit none

  interface
    subroutine capi_fortran_reference(x, y, n, steps, losses) bind(c, name="capi_fortran_reference")
      import :: c_float, c_int64_t, c_double
      real(c_float), intent(in) :: x(*), y(*)
      integer(c_int64_t), value :: n, steps
      real(c_double), intent(out) :: losses(*)
    end subroutine
  end interface

  integer, parameter :: n = 8, steps = 20
  real(c_float), target :: x(3, n), y(1, n), pred(1, n), pred2(1, n), wrong(2, n)
  real(c_double) :: losses(steps), reference(steps), lr
  type(fulgur_model) :: model, restored
  type(fulgur_optimizer) :: sgd
  type(fulgur_tensor) :: xt, yt, out, loss, pt, wt
  type(fulgur_session) :: session
  integer(c_int64_t) :: count
  character(len=4096) :: tmpdir
  character(len=:), allocatable :: path
  integer :: i, k, s, length
  type(fulgur_model) :: trained
  type(fulgur_optimizer) :: trained_sgd
  type(fulgur_trainer) :: trainer
  type(fulgur_trainer_options) :: options
  real(c_double) :: trainer_losses(steps), val_loss, eval_loss
  integer(c_int64_t) :: global_step
  integer, target :: batches_seen
  logical :: stop

  ! x(k, i): feature k of sample i (features first: the tensor is [n, 3]).
  do i = 1, n
    do k = 1, 3
      x(k, i) = sin(0.7_c_float * real(3 * (i - 1) + (k - 1), c_float)) * 1.5_c_float
    end do
    y(1, i) = x(1, i) * 0.5_c_float - x(2, i) + 0.25_c_float * x(3, i) * x(3, i)
  end do

  call check(fulgur_abi_version() == FULGUR_C_ABI_VERSION, "ABI version")
  call ok(fulgur_model_create(42_c_int64_t, model))
  call ok(fulgur_model_add_linear(model, 3, 4))
  call ok(fulgur_model_add_tanh(model))
  call ok(fulgur_model_add_linear(model, 4, 1))
  call ok(fulgur_model_num_parameters(model, count))
  call check(count == 21, "21 parameters")
  call ok(fulgur_optimizer_sgd(model, 0.05_c_double, sgd, momentum=0.9_c_double, nesterov=.true.))
  call ok(fulgur_tensor_from_array(x, xt))
  call ok(fulgur_tensor_from_array(y, yt))

  do s = 1, steps
    call ok(fulgur_optimizer_zero_grad(sgd))
    call ok(fulgur_model_forward(model, xt, out))
    call ok(fulgur_loss(FULGUR_LOSS_MSE, out, yt, loss))
    call ok(fulgur_tensor_backward(loss))
    call ok(fulgur_optimizer_step(sgd))
    call ok(fulgur_tensor_item(loss, losses(s)))
  end do
  call capi_fortran_reference(x, y, int(n, c_int64_t), int(steps, c_int64_t), reference)
  print '(a, es24.16, a, es24.16)', 'loss first ', losses(1), ', last ', losses(steps)
  print '(a, es24.16)', 'C++ reference last loss ', reference(steps)
  call check(losses(steps) < 0.5_c_double * losses(1), "the loss decreases")
  call check(all(losses == reference), "losses equal the C++ API's bit for bit")
  call ok(fulgur_optimizer_get_lr(sgd, lr))
  call check(lr == 0.05_c_double, "lr")

  call get_environment_variable("TEST_TMPDIR", tmpdir, length)
  if (length == 0) tmpdir = "/tmp"

  ! The same training through the host-driven Trainer: the same losses, bit for bit.
  call ok(fulgur_model_create(42_c_int64_t, trained))
  call ok(fulgur_model_add_linear(trained, 3, 4))
  call ok(fulgur_model_add_tanh(trained))
  call ok(fulgur_model_add_linear(trained, 4, 1))
  call ok(fulgur_optimizer_sgd(trained, 0.05_c_double, trained_sgd, momentum=0.9_c_double, nesterov=.true.))
  options%checkpoint_dir = trim(tmpdir) // "/trainer_checkpoints"
  options%save_last = .true.
  call ok(fulgur_trainer_create(options, trainer))
  batches_seen = 0
  call ok(fulgur_trainer_set_callbacks(trainer, on_train_batch_end=on_batch, user_data=c_loc(batches_seen)))
  call ok(fulgur_trainer_begin(trainer, trained, trained_sgd, FULGUR_LOSS_MSE))
  do s = 1, steps
    call ok(fulgur_trainer_step(trainer, xt, yt, trainer_losses(s)))
  end do
  call ok(fulgur_trainer_validate(trainer, xt, yt, val_loss))
  call ok(fulgur_trainer_epoch_end(trainer))
  call ok(fulgur_trainer_global_step(trainer, global_step))
  call ok(fulgur_trainer_should_stop(trainer, stop))
  call ok(fulgur_trainer_end(trainer))
  call check(all(trainer_losses == reference), "the Trainer's step losses equal the C++ API's bit for bit")
  call check(global_step == steps, "global step")
  call check(.not. stop, "no reason to stop")
  call check(batches_seen == steps .and. last_step == steps, "the callback saw every batch and the step count")
  call check(last_loss == trainer_losses(steps), "the callback got the batch loss")
  ! val_loss is the loss of the trained model in eval mode.
  call ok(fulgur_model_set_training(trained, .false.))
  call ok(fulgur_model_forward(trained, xt, out))
  call ok(fulgur_loss(FULGUR_LOSS_MSE, out, yt, loss))
  call ok(fulgur_tensor_item(loss, eval_loss))
  call check(real(val_loss, c_float) == real(eval_loss, c_float), "val_loss is the eval loss of the trained model")
  call check(fulgur_trainer_set_lr_schedule(trainer, FULGUR_LR_STEP, 0.5_c_double, 0.5_c_double) &
             == FULGUR_INVALID_ARGUMENT, "a fractional step_size is refused")
  call fulgur_trainer_destroy(trainer)
  ! The Trainer's last.ckpt holds the module's "net." weights.
  call ok(fulgur_checkpoint_load(model, trim(tmpdir) // "/trainer_checkpoints/last.ckpt", key_prefix="net."))
  call ok(fulgur_model_set_training(model, .false.))
  call ok(fulgur_model_forward(model, xt, out))
  call ok(fulgur_loss(FULGUR_LOSS_MSE, out, yt, loss))
  call ok(fulgur_tensor_item(loss, val_loss))
  call check(val_loss == eval_loss, "the Trainer's checkpoint loads into a model")
  call ok(fulgur_model_set_training(model, .true.))

  ! Inference into a Fortran array: a session over the model equals an eval-mode forward.
  call ok(fulgur_model_set_training(model, .false.))
  call ok(fulgur_model_forward(model, xt, out))
  call ok(fulgur_tensor_copy_to_array(out, pred))
  call ok(fulgur_session_from_model(model, session))
  pred2 = -1
  call ok(fulgur_tensor_from_array(pred2, pt))
  call ok(fulgur_session_run(session, [xt], [pt]))
  call check(all(pred2 == pred), "session output written into the Fortran array")

  ! Checkpoint round trip into a model with other initial weights.
  path = trim(tmpdir) // "/fortran.ckpt"
  call ok(fulgur_checkpoint_save(model, path, sgd))
  call ok(fulgur_model_create(7_c_int64_t, restored))
  call ok(fulgur_model_add_linear(restored, 3, 4))
  call ok(fulgur_model_add_tanh(restored))
  call ok(fulgur_model_add_linear(restored, 4, 1))
  call ok(fulgur_checkpoint_load(restored, path))
  call ok(fulgur_model_set_training(restored, .false.))
  call ok(fulgur_model_forward(restored, xt, out))
  pred2 = 0
  call ok(fulgur_tensor_copy_to_array(out, pred2))
  call check(all(pred2 == pred), "the restored model predicts the same")

  ! An error: 2 features for a layer that takes 3.
  wrong = 1
  call ok(fulgur_tensor_from_array(wrong, wt))
  call check(fulgur_model_forward(model, wt, out) == FULGUR_SHAPE_MISMATCH, "shape mismatch status")
  print '(a, a)', 'expected error: ', fulgur_last_error()
  call check(index(fulgur_last_error(), "fulgur_model_forward: ") == 1, "message names the function")
  call check(fulgur_checkpoint_load(model, trim(tmpdir) // "/missing.ckpt") == FULGUR_IO_ERROR, "IO error")
  call check(fulgur_model_add_onnx(model, trim(tmpdir) // "/missing.onnx") == FULGUR_IO_ERROR, "ONNX IO error")
  call check(index(fulgur_last_error(), "missing.onnx") > 0, "the message names the ONNX file")

  call fulgur_tensor_destroy(wt)
  call fulgur_tensor_destroy(pt)
  call fulgur_tensor_destroy(out)
  call fulgur_tensor_destroy(loss)
  call fulgur_tensor_destroy(xt)
  call fulgur_tensor_destroy(yt)
  call fulgur_session_destroy(session)
  call fulgur_optimizer_destroy(sgd)
  call fulgur_optimizer_destroy(trained_sgd)
  call fulgur_model_destroy(trained)
  deallocate(options%checkpoint_dir)
  call fulgur_model_destroy(restored)
  call fulgur_model_destroy(model)
  deallocate(path)  ! the main program's variables are never freed otherwise (LeakSanitizer)
  print '(a)', 'capi_fortran_test: all checks passed'

contains

  subroutine ok(status)
    integer(c_int), intent(in) :: status
    if (status /= FULGUR_OK) then
      print '(a, i0, a, a)', 'unexpected status ', status, ': ', fulgur_last_error()
      error stop 1
    end if
  end subroutine

  subroutine check(condition, what)
    logical, intent(in) :: condition
    character(len=*), intent(in) :: what
    if (.not. condition) then
      print '(a, a)', 'CHECK failed: ', what
      error stop 1
    end if
  end subroutine

end program
