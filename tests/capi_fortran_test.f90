! module fulgur from Fortran: trains a 3 -> 4 -> 1 MLP (tanh, SGD with Nesterov momentum) on
! Fortran arrays passed without copies, and checks that the losses decrease AND equal, bit for
! bit, those of the same training done with the C++ API (tests/capi_fortran_reference.cc, on
! the same arrays). Then: inference into a Fortran array, a checkpoint round trip, and an
! error status with its message.
program capi_fortran_test
  use, intrinsic :: iso_c_binding
  use fulgur
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
  call get_environment_variable("TEST_TMPDIR", tmpdir, length)
  if (length == 0) tmpdir = "/tmp"
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

  call fulgur_tensor_destroy(wt)
  call fulgur_tensor_destroy(pt)
  call fulgur_tensor_destroy(out)
  call fulgur_tensor_destroy(loss)
  call fulgur_tensor_destroy(xt)
  call fulgur_tensor_destroy(yt)
  call fulgur_session_destroy(session)
  call fulgur_optimizer_destroy(sgd)
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
