/* The C ABI from a C11 program (-std=c11 -pedantic -Werror): fulgur_c.h must be plain C.
 * Fits y = 2 x - 1 with one linear layer and SGD; least squares on noise-free data has that
 * exact solution, so the weights must reach it. Also checks one error status and message. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fulgur/fulgur_c.h"

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, \
              #cond, fulgur_last_error());                                           \
      return 1;                                                                      \
    }                                                                                \
  } while (0)

int main(void) {
  float x[16];
  float y[16];
  const int64_t sizes[2] = {16, 1};
  const fulgur_device host = {FULGUR_DEVICE_CPU, 0};
  fulgur_model* model = NULL;
  fulgur_optimizer* optimizer = NULL;
  fulgur_tensor* xt = NULL;
  fulgur_tensor* yt = NULL;
  fulgur_tensor* weight = NULL;
  fulgur_tensor* bias = NULL;
  float w = 0.0f, b = 0.0f;
  double first_loss = -1.0, loss_value = -1.0;
  int step, i;

  CHECK(fulgur_abi_version() == FULGUR_C_ABI_VERSION);
  for (i = 0; i < 16; ++i) {
    x[i] = (float)i / 8.0f - 1.0f;
    y[i] = 2.0f * x[i] - 1.0f;
  }
  CHECK(fulgur_tensor_from_data(x, FULGUR_FLOAT32, 2, sizes, NULL, host, &xt) == FULGUR_OK);
  CHECK(fulgur_tensor_from_data(y, FULGUR_FLOAT32, 2, sizes, NULL, host, &yt) == FULGUR_OK);
  CHECK(fulgur_model_create(1, &model) == FULGUR_OK);
  CHECK(fulgur_model_add_linear(model, 1, 1, 1) == FULGUR_OK);
  CHECK(fulgur_optimizer_sgd(model, 0.2, 0.5, 0.0, 0, &optimizer) == FULGUR_OK);
  for (step = 0; step < 300; ++step) {
    fulgur_tensor* pred = NULL;
    fulgur_tensor* loss = NULL;
    CHECK(fulgur_optimizer_zero_grad(optimizer) == FULGUR_OK);
    CHECK(fulgur_model_forward(model, xt, &pred) == FULGUR_OK);
    CHECK(fulgur_loss(FULGUR_LOSS_MSE, pred, yt, &loss) == FULGUR_OK);
    CHECK(fulgur_tensor_backward(loss) == FULGUR_OK);
    CHECK(fulgur_optimizer_step(optimizer) == FULGUR_OK);
    CHECK(fulgur_tensor_item(loss, &loss_value) == FULGUR_OK);
    if (step == 0) first_loss = loss_value;
    fulgur_tensor_destroy(loss);
    fulgur_tensor_destroy(pred);
  }
  CHECK(fulgur_model_parameter(model, 0, &weight) == FULGUR_OK);
  CHECK(fulgur_model_parameter(model, 1, &bias) == FULGUR_OK);
  CHECK(fulgur_tensor_copy_to(weight, &w, sizeof w) == FULGUR_OK);
  CHECK(fulgur_tensor_copy_to(bias, &b, sizeof b) == FULGUR_OK);
  printf("first loss %g, last loss %g, w %.6f, b %.6f\n", first_loss, loss_value, w, b);
  CHECK(first_loss > 0.1);
  CHECK(loss_value < 1e-8);
  CHECK(fabsf(w - 2.0f) < 1e-4f);
  CHECK(fabsf(b + 1.0f) < 1e-4f);

  /* An input with 2 features for a layer that takes 1. */
  {
    fulgur_tensor* wrong = NULL;
    fulgur_tensor* out = NULL;
    const int64_t wrong_sizes[2] = {8, 2};
    CHECK(fulgur_tensor_from_data(x, FULGUR_FLOAT32, 2, wrong_sizes, NULL, host, &wrong) == FULGUR_OK);
    CHECK(fulgur_model_forward(model, wrong, &out) == FULGUR_SHAPE_MISMATCH);
    CHECK(out == NULL);
    CHECK(strncmp(fulgur_last_error(), "fulgur_model_forward: ", 22) == 0);
    fulgur_tensor_destroy(wrong);
  }

  fulgur_tensor_destroy(weight);
  fulgur_tensor_destroy(bias);
  fulgur_tensor_destroy(xt);
  fulgur_tensor_destroy(yt);
  fulgur_optimizer_destroy(optimizer);
  fulgur_model_destroy(model);
  return 0;
}
