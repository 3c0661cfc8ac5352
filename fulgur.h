// The umbrella header: #include <fulgur/fulgur.h> gives the whole public API.
#pragma once

#include "fulgur/autograd/autograd.h"
#include "fulgur/autograd/gradcheck.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/device.h"
#include "fulgur/kernels/dtype.h"
#include "fulgur/kernels/error.h"
#include "fulgur/kernels/parallel.h"
#include "fulgur/kernels/scalar.h"
#include "fulgur/tensor/generator.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/tensor.h"
#include "fulgur/tensor/type_promotion.h"
