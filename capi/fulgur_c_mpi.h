/* fulgur_c_mpi.h: the part of the C ABI that takes the host's MPI communicator. Include it
 * after <mpi.h>-using code is set up; it needs MPI's headers (mpicc / mpif90 provide them).
 * Fulgur never calls MPI_Init or MPI_Finalize for such a trainer and never touches
 * MPI_COMM_WORLD: it duplicates `comm` (its messages never match the host's) and frees the
 * duplicate when the trainer is destroyed. MPI must be initialised before and finalised after.
 * Ownership and threading as in fulgur_c.h. */
#ifndef FULGUR_C_MPI_H_
#define FULGUR_C_MPI_H_

#include <mpi.h>

#include "fulgur/fulgur_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A trainer running DDP over the ranks of `comm`, given as a Fortran handle (MPI_Comm_c2f(comm)
 * from C; the INTEGER communicator itself from Fortran): every rank of comm must call it, and
 * the ranks must then call begin/step/validate/epoch_end/end in the same order. options->ddp
 * is ignored (this is DDP over comm). */
FULGUR_C_API fulgur_status fulgur_trainer_create_mpi(const fulgur_trainer_options* options, MPI_Fint comm,
                                                     fulgur_trainer** out);

#ifdef __cplusplus
}
#endif

#endif /* FULGUR_C_MPI_H_ */
