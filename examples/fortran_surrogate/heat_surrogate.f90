! heat_surrogate: an MPI Fortran simulation that trains its own surrogate while it runs.
!
! The simulation is the 2-D heat equation u_t = alpha * laplace(u) on the unit square, u = 0
! on the boundary, explicit 5-point stencil (u_new = u + r * (E + W + N + S - 4 u), r =
! alpha dt / h^2 = 0.2), on an nx x ny grid split by rows of the y axis across the ranks with
! a halo exchange (MPI_Sendrecv). The program owns MPI, its arrays and its time loop; fulgur
! is a library it calls:
!   - every K steps (a "round"), the step just computed gives one training sample per grid
!     point: the 5 stencil values of u in, (u_new - u) / r at the centre out (the surrogate
!     learns the operator; the time step stays the program's: u += r * surrogate(stencil)). The samples live in the
!     program's arrays, wrapped once as tensors (no copies). The round validates the
!     surrogate on these new samples first (it has never seen them), then trains on them for
!     a few passes of minibatches through fulgur_trainer_step, and closes the round as an
!     epoch (learning-rate schedule, ModelCheckpoint of the best val_loss, CSV metrics);
!   - the Trainer runs DDP over the program's communicator: each rank trains on its own rows,
!     the gradients are averaged, so all ranks hold the same surrogate;
!   - after each round the program checkpoints its own state (step, field; one file per rank)
!     and the Trainer's (resume.ckpt), each written atomically; --resume continues from them
!     and gives bit for bit the run that was never interrupted;
!   - at the end the surrogate replaces the solver for `rollout` steps (inference through a
!     session writing into the program's array), and the program reports how far it drifted
!     from the solver.
!
! Usage: mpirun -np P heat_surrogate [--steps N] [--train-every K] [--out DIR] [--resume]
! (ny = 32 must be divisible by P). Rank 0 prints the summary lines the test reads:
!   round <r> step <n> val_loss <v> train_loss <l>
!   summary steps <n> rounds <r> first_val_loss <v> last_val_loss <v> rollout_rel_rms <e>
!           persistence_rel_rms <p>
! (rollout_rel_rms: |surrogate - solver| / |solver| after the rollout; persistence_rel_rms the
! same for a "surrogate" that leaves the field as it was, the baseline it must beat)
! and every rank prints "checksum <rank> <sum of the surrogate's outputs on a fixed probe>".
module heat_state
  use, intrinsic :: iso_c_binding
  use mpi
  implicit none
  integer, parameter :: nx = 32, ny = 32, features = 5, minibatch = 128
  real(c_float), parameter :: r = 0.2
contains

  ! The initial field: three Gaussian bumps (one per quarter of the domain, plus a wide one).
  subroutine initial_field(u, y0)
    real(c_float), intent(out) :: u(0:, 0:)
    integer, intent(in) :: y0  ! global index of this rank's first row, minus one
    integer :: i, j
    real :: x, y
    u = 0
    do j = 1, size(u, 2) - 2
      do i = 1, nx
        x = real(i) / real(nx + 1)
        y = real(y0 + j) / real(ny + 1)
        u(i, j) = real(exp(-60 * ((x - 0.3)**2 + (y - 0.3)**2)) + 0.7 * exp(-40 * ((x - 0.7)**2 + (y - 0.6)**2)) &
                       + 0.3 * exp(-8 * ((x - 0.5)**2 + (y - 0.5)**2)), c_float)
      end do
    end do
  end subroutine

  ! Halo rows from the neighbouring ranks (row 0 and row nyl + 1; zero at the domain boundary).
  subroutine exchange_halo(u, comm, rank, nprocs)
    real(c_float), intent(inout) :: u(0:, 0:)
    integer, intent(in) :: comm, rank, nprocs
    integer :: below, above, nyl, ierr
    nyl = size(u, 2) - 2
    below = merge(rank - 1, MPI_PROC_NULL, rank > 0)
    above = merge(rank + 1, MPI_PROC_NULL, rank < nprocs - 1)
    ! Rows are contiguous in a column-major u(0:nx+1, 0:nyl+1): u(:, j) is one row of y.
    call MPI_Sendrecv(u(:, nyl), nx + 2, MPI_REAL, above, 1, u(:, 0), nx + 2, MPI_REAL, below, 1, &
                      comm, MPI_STATUS_IGNORE, ierr)
    call MPI_Sendrecv(u(:, 1), nx + 2, MPI_REAL, below, 2, u(:, nyl + 1), nx + 2, MPI_REAL, above, 2, &
                      comm, MPI_STATUS_IGNORE, ierr)
    if (rank == 0) u(:, 0) = 0
    if (rank == nprocs - 1) u(:, nyl + 1) = 0
  end subroutine

  ! One explicit step of the solver; u's halo must be current.
  subroutine solver_step(u, u_new)
    real(c_float), intent(in) :: u(0:, 0:)
    real(c_float), intent(out) :: u_new(0:, 0:)
    integer :: i, j
    u_new = 0
    do j = 1, size(u, 2) - 2
      do i = 1, nx
        u_new(i, j) = u(i, j) + r * (u(i + 1, j) + u(i - 1, j) + u(i, j + 1) + u(i, j - 1) - 4 * u(i, j))
      end do
    end do
  end subroutine

  ! x(:, p) = the stencil of point p = (i, j): centre, west, east, south, north.
  subroutine stencils(u, x)
    real(c_float), intent(in) :: u(0:, 0:)
    real(c_float), intent(out) :: x(:, :)
    integer :: i, j, p
    do j = 1, size(u, 2) - 2
      do i = 1, nx
        p = (j - 1) * nx + i
        x(:, p) = [u(i, j), u(i - 1, j), u(i + 1, j), u(i, j - 1), u(i, j + 1)]
      end do
    end do
  end subroutine

  ! The field's interior points in sample order.
  subroutine interior(u, y)
    real(c_float), intent(in) :: u(0:, 0:)
    real(c_float), intent(out) :: y(:, :)
    integer :: j
    do j = 1, size(u, 2) - 2
      y(1, (j - 1) * nx + 1:j * nx) = u(1:nx, j)
    end do
  end subroutine

end module heat_state

program heat_surrogate
  use, intrinsic :: iso_c_binding
  use mpi
  use fulgur
  use heat_state
  implicit none

  interface
    ! C's rename(2): an atomic replace of the state file (Fortran has no standard rename).
    integer(c_int) function c_rename(from, to) bind(c, name="rename")
      import :: c_int, c_char
      character(kind=c_char), intent(in) :: from(*), to(*)
    end function
  end interface

  integer, parameter :: passes = 3, rollout = 20, probe = 64
  integer :: steps = 200, train_every = 10
  logical :: resume = .false.
  character(len=:), allocatable :: out_dir, state_file
  integer :: comm, rank, nprocs, nyl, npts, ierr, step, first_step, round, pass, b, k, arg, length
  real(c_float), allocatable, target :: u(:, :), u_new(:, :), surrogate(:, :), u_start(:, :)
  real(c_float), allocatable, target :: x(:, :), y(:, :), xb(:, :), yb(:, :), pred(:, :)
  real(c_float), target :: x_probe(features, probe), y_probe(1, probe)
  type(fulgur_tensor) :: xt, yt, xbt, ybt, predt, probe_in, probe_out
  type(fulgur_model) :: model
  type(fulgur_optimizer) :: adam
  type(fulgur_trainer) :: trainer
  type(fulgur_trainer_options) :: options
  type(fulgur_session) :: session
  real(c_double) :: val_loss, train_loss, first_val_loss, local(3), global(3)
  character(len=4096) :: flag, value

  ! ---- MPI and arguments: the program's own ----------------------------------------------------
  call MPI_Init(ierr)
  comm = MPI_COMM_WORLD
  call MPI_Comm_rank(comm, rank, ierr)
  call MPI_Comm_size(comm, nprocs, ierr)
  out_dir = "."
  arg = 1
  do while (arg <= command_argument_count())
    call get_command_argument(arg, flag)
    select case (trim(flag))
    case ("--resume")
      resume = .true.
    case ("--out")
      call next_value()
      out_dir = value(1:length)
    case ("--steps")
      call next_value()
      read (value(1:length), *) steps
    case ("--train-every")
      call next_value()
      read (value(1:length), *) train_every
    case default
      call usage("unknown argument " // trim(flag))
    end select
    arg = arg + 1
  end do
  if (mod(ny, nprocs) /= 0) call usage("ny = 32 must be divisible by the number of ranks")
  if (train_every < 1 .or. mod(steps, train_every) /= 0) call usage("--steps must be a multiple of --train-every")
  nyl = ny / nprocs
  npts = nx * nyl
  allocate(u(0:nx + 1, 0:nyl + 1), u_new(0:nx + 1, 0:nyl + 1), surrogate(0:nx + 1, 0:nyl + 1), &
           u_start(0:nx + 1, 0:nyl + 1))
  allocate(x(features, npts), y(1, npts), xb(features, minibatch), yb(1, minibatch), pred(1, npts))
  write (value, '(a, "/state_rank", i0, ".bin")') out_dir, rank
  state_file = trim(value)

  ! ---- the surrogate and its Trainer ---------------------------------------------------------
  ! 5 -> 32 -> 32 -> 1 tanh MLP, the same initial weights on every rank (seed), Adam.
  call ok(fulgur_model_create(2024_c_int64_t, model))
  call ok(fulgur_model_add_linear(model, features, 32))
  call ok(fulgur_model_add_tanh(model))
  call ok(fulgur_model_add_linear(model, 32, 32))
  call ok(fulgur_model_add_tanh(model))
  call ok(fulgur_model_add_linear(model, 32, 1))
  call ok(fulgur_optimizer_adam(model, 3e-3_c_double, adam))
  options%default_root_dir = out_dir
  options%csv_logger = .true.
  options%log_every_n_steps = 4
  options%checkpoint_dir = out_dir // "/checkpoints"
  options%monitor = "val_loss"
  call ok(fulgur_trainer_create_mpi(options, comm, trainer))
  ! Halve the learning rate every 5 rounds (epochs).
  call ok(fulgur_trainer_set_lr_schedule(trainer, FULGUR_LR_STEP, 5.0_c_double, 0.5_c_double))

  ! The program's arrays as tensors, once: fulgur reads whatever they hold at each call.
  call ok(fulgur_tensor_from_array(x, xt))
  call ok(fulgur_tensor_from_array(y, yt))
  call ok(fulgur_tensor_from_array(xb, xbt))
  call ok(fulgur_tensor_from_array(yb, ybt))
  call ok(fulgur_tensor_from_array(pred, predt))

  ! ---- start or resume ---------------------------------------------------------------------
  if (resume) then
    call read_state(step)
    call ok(fulgur_trainer_begin(trainer, model, adam, FULGUR_LOSS_MSE, ckpt_path=out_dir // "/resume.ckpt"))
  else
    step = 0
    call initial_field(u, rank * nyl)
    call ok(fulgur_trainer_begin(trainer, model, adam, FULGUR_LOSS_MSE))
  end if
  first_step = step
  first_val_loss = -1

  ! ---- the time loop -----------------------------------------------------------------------
  do while (step < steps)
    call exchange_halo(u, comm, rank, nprocs)
    call solver_step(u, u_new)
    step = step + 1
    if (mod(step, train_every) == 0) then
      ! A round: samples from this step, validation on them, then training on them.
      call stencils(u, x)
      call interior((u_new - u) / r, y)
      call ok(fulgur_trainer_validate(trainer, xt, yt, val_loss))
      if (first_val_loss < 0) first_val_loss = val_loss
      do pass = 1, passes
        do b = 0, npts / minibatch - 1
          ! A pass visits the minibatches in a rotated order (deterministic: resumable).
          k = mod(b + pass + step / train_every, npts / minibatch)
          xb = x(:, k * minibatch + 1:(k + 1) * minibatch)
          yb = y(:, k * minibatch + 1:(k + 1) * minibatch)
          call ok(fulgur_trainer_step(trainer, xbt, ybt, train_loss))
        end do
      end do
      call ok(fulgur_trainer_epoch_end(trainer))
      round = step / train_every
      if (rank == 0) print '(a, i0, a, i0, a, es14.6, a, es14.6)', 'round ', round, ' step ', step, &
        ' val_loss ', val_loss, ' train_loss ', train_loss
      u = u_new
      call write_state(step)
      call ok(fulgur_trainer_save_checkpoint(trainer, out_dir // "/resume.ckpt"))
    else
      u = u_new
    end if
  end do
  call ok(fulgur_trainer_end(trainer))

  ! ---- inference: the surrogate replaces the solver for `rollout` steps --------------------
  call ok(fulgur_session_from_model(model, session))
  surrogate = u
  u_start = u
  do k = 1, rollout
    call exchange_halo(u, comm, rank, nprocs)
    call solver_step(u, u_new)
    u = u_new
    call exchange_halo(surrogate, comm, rank, nprocs)
    call stencils(surrogate, x)
    call ok(fulgur_session_run(session, [xt], [predt]))  ! writes into pred
    do b = 1, nyl
      surrogate(1:nx, b) = surrogate(1:nx, b) + r * pred(1, (b - 1) * nx + 1:b * nx)
    end do
  end do
  local = [sum(real(surrogate(1:nx, 1:nyl) - u(1:nx, 1:nyl), c_double)**2), sum(real(u(1:nx, 1:nyl), c_double)**2), &
           sum(real(u_start(1:nx, 1:nyl) - u(1:nx, 1:nyl), c_double)**2)]
  call MPI_Allreduce(local, global, 3, MPI_DOUBLE_PRECISION, MPI_SUM, comm, ierr)

  ! The surrogate's outputs on a fixed probe: equal on every rank (DDP), and equal between an
  ! interrupted-and-resumed run and an uninterrupted one.
  do k = 1, probe
    x_probe(:, k) = [(real(0.5 + 0.4 * sin(0.37 * real(k * features + b)), c_float), b = 1, features)]
  end do
  call ok(fulgur_tensor_from_array(x_probe, probe_in))
  call ok(fulgur_tensor_from_array(y_probe, probe_out))
  call ok(fulgur_session_run(session, [probe_in], [probe_out]))
  print '(a, i0, a, es25.17)', 'checksum ', rank, ' ', sum(real(y_probe, c_double))
  if (rank == 0) then
    print '(a, i0, a, i0, a, es14.6, a, es14.6, a, es14.6, a, es14.6)', 'summary steps ', step, ' rounds ', &
      (step - first_step) / train_every, ' first_val_loss ', first_val_loss, ' last_val_loss ', val_loss, &
      ' rollout_rel_rms ', sqrt(global(1) / global(2)), ' persistence_rel_rms ', sqrt(global(3) / global(2))
  end if

  call fulgur_tensor_destroy(probe_in)
  call fulgur_tensor_destroy(probe_out)
  call fulgur_tensor_destroy(xt)
  call fulgur_tensor_destroy(yt)
  call fulgur_tensor_destroy(xbt)
  call fulgur_tensor_destroy(ybt)
  call fulgur_tensor_destroy(predt)
  call fulgur_session_destroy(session)
  call fulgur_trainer_destroy(trainer)  ! frees fulgur's duplicate of comm: before MPI_Finalize
  call fulgur_optimizer_destroy(adam)
  call fulgur_model_destroy(model)
  ! A main program's variables are never freed otherwise (LeakSanitizer would say so).
  deallocate(u, u_new, surrogate, u_start, x, y, xb, yb, pred, out_dir, state_file)
  deallocate(options%default_root_dir, options%checkpoint_dir, options%monitor)
  call MPI_Finalize(ierr)

contains

  subroutine ok(status)
    integer(c_int), intent(in) :: status
    integer :: ierr2
    if (status /= FULGUR_OK) then
      print '(a, i0, a, i0, a, a)', 'rank ', rank, ': fulgur status ', status, ': ', fulgur_last_error()
      call MPI_Abort(MPI_COMM_WORLD, 1, ierr2)
    end if
  end subroutine

  ! value(1:length) = the argument after the flag at `arg` (which moves past it).
  subroutine next_value()
    arg = arg + 1
    call get_command_argument(arg, value, length)
    if (length == 0) call usage("a value is missing after " // trim(flag))
  end subroutine

  subroutine usage(why)
    character(len=*), intent(in) :: why
    integer :: ierr2
    if (rank == 0) print '(a, a)', 'heat_surrogate: ', why
    if (rank == 0) print '(a)', 'usage: mpirun -np P heat_surrogate [--steps N] [--train-every K] [--out DIR] [--resume]'
    call MPI_Abort(MPI_COMM_WORLD, 2, ierr2)
  end subroutine

  ! This rank's state (step, field), written to a temporary name and renamed over the file:
  ! an interrupted write never leaves half a state behind.
  subroutine write_state(n)
    integer, intent(in) :: n
    integer :: unit
    open (newunit=unit, file=state_file // ".tmp", access="stream", form="unformatted", status="replace", &
          action="write")
    write (unit) n, nx, nyl, u
    close (unit)
    if (c_rename(state_file // ".tmp" // c_null_char, state_file // c_null_char) /= 0) &
      call usage("cannot write " // state_file)
  end subroutine

  subroutine read_state(n)
    integer, intent(out) :: n
    integer :: unit, iostat, file_nx, file_nyl
    open (newunit=unit, file=state_file, access="stream", form="unformatted", status="old", action="read", &
          iostat=iostat)
    if (iostat /= 0) call usage("--resume: cannot open " // state_file)
    read (unit) n, file_nx, file_nyl
    if (file_nx /= nx .or. file_nyl /= nyl) call usage("--resume: " // state_file // " is for another grid or rank count")
    read (unit) u
    close (unit)
  end subroutine

end program heat_surrogate
