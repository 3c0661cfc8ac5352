// Inference sessions: an ONNX file (nn/onnx's runtime) or a model, run into caller buffers.
#include <string>
#include <vector>

#include "capi/handles.h"

namespace fulgur::capi {
namespace {

const fulgur_session& session_of(const fulgur_session* session) {
  require(session, "session");
  return *session;
}

std::vector<Tensor> run_session(const fulgur_session& s, const std::vector<Tensor>& inputs) {
  NoGradGuard no_grad;
  if (s.onnx) return s.onnx->run(inputs);
  const bool was_training = s.net->is_training();
  s.net->eval();
  try {
    Tensor y = s.net->forward(inputs[0]);
    s.net->train(was_training);
    return {y};
  } catch (...) {
    s.net->train(was_training);
    throw;
  }
}

}  // namespace
}  // namespace fulgur::capi

using namespace fulgur;
using namespace fulgur::capi;

extern "C" {

fulgur_status fulgur_session_from_onnx(const char* path, fulgur_session** out) {
  return guarded(__func__, FULGUR_IO_ERROR, [&] {
    require(path, "path");
    require(out, "out");
    auto session = std::make_unique<fulgur_session>();
    session->onnx.emplace(path);
    session->num_inputs = static_cast<int32_t>(session->onnx->inputs().size());
    session->num_outputs = static_cast<int32_t>(session->onnx->outputs().size());
    *out = session.release();
  });
}

fulgur_status fulgur_session_from_model(fulgur_model* model, fulgur_session** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(model, "model");
    require(out, "out");
    if (model->net->empty()) fail(FULGUR_INVALID_ARGUMENT, "the model has no layers");
    auto session = std::make_unique<fulgur_session>();
    session->net = model->net;
    session->generator = model->generator;
    session->num_inputs = 1;
    session->num_outputs = 1;
    *out = session.release();
  });
}

void fulgur_session_destroy(fulgur_session* session) { delete session; }

fulgur_status fulgur_session_num_inputs(const fulgur_session* session, int32_t* count) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const fulgur_session& s = session_of(session);
    require(count, "count");
    *count = s.num_inputs;
  });
}

fulgur_status fulgur_session_num_outputs(const fulgur_session* session, int32_t* count) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    const fulgur_session& s = session_of(session);
    require(count, "count");
    *count = s.num_outputs;
  });
}

fulgur_status fulgur_session_run(const fulgur_session* session, int32_t num_inputs, const fulgur_tensor* const* inputs,
                                 int32_t num_outputs, fulgur_tensor* const* outputs) {
  // A library error here is an input the graph does not take.
  return guarded(__func__, FULGUR_SHAPE_MISMATCH, [&] {
    const fulgur_session& s = session_of(session);
    if (num_inputs != s.num_inputs || num_outputs != s.num_outputs) {
      fail(FULGUR_INVALID_ARGUMENT, "the session takes " + std::to_string(s.num_inputs) + " inputs and gives " +
                                        std::to_string(s.num_outputs) + " outputs; got num_inputs " +
                                        std::to_string(num_inputs) + ", num_outputs " + std::to_string(num_outputs));
    }
    require(inputs, "inputs");
    require(outputs, "outputs");
    std::vector<Tensor> in;
    for (int32_t i = 0; i < num_inputs; ++i) {
      const std::string what = "inputs[" + std::to_string(i) + "]";
      require(inputs[i], what.c_str());
      in.push_back(s.onnx ? inputs[i]->tensor.contiguous() : model_input(inputs[i], what.c_str()));
    }
    for (int32_t i = 0; i < num_outputs; ++i) require(outputs[i], ("outputs[" + std::to_string(i) + "]").c_str());
    const std::vector<Tensor> results = run_session(s, in);
    // Check every output before writing any, so that a failure leaves the buffers alone.
    for (int32_t i = 0; i < num_outputs; ++i) {
      if (results[i].sizes() != outputs[i]->tensor.sizes()) {
        fail(FULGUR_SHAPE_MISMATCH, "output " + std::to_string(i) + " is " + shape_str(results[i].sizes()) +
                                        " but outputs[" + std::to_string(i) + "] is " +
                                        shape_str(outputs[i]->tensor.sizes()));
      }
    }
    NoGradGuard no_grad;
    for (int32_t i = 0; i < num_outputs; ++i) outputs[i]->tensor.copy_(results[i]);
  });
}

}  // extern "C"
