// MLP training loop; see mlp_train.hpp.
#include "lowrank/nn/mlp_train.hpp"

#include <chrono>
#include <cmath>
#include <string>

#include "lowrank/core/random.hpp"

namespace lowrank::nn {

void MlpTrainOptions::validate() const {
  if (steps < 0) throw InvalidArgument("MLP training: steps must be >= 0, got " + std::to_string(steps));
  if (batch < 0)
    throw InvalidArgument("MLP training: batch must be >= 0 (0 = full batch), got " + std::to_string(batch));
  if (log_interval < 0) throw InvalidArgument("MLP training: log_interval must be >= 0");
  optim.validate();
}

template <class T>
MlpTrainResult train_mlp(Mlp<T>& model, const Act<T>& x, const Act<T>& y, const MlpTrainOptions& options,
                         const ProgressCallback& progress) {
  options.validate();
  if (x.rows() < 1) throw InvalidArgument("MLP training: no input rows");
  if (x.cols() != model.input_size() || y.cols() != model.output_size() || y.rows() != x.rows())
    throw InvalidArgument("MLP training: inputs [" + std::to_string(x.rows()) + ", " + std::to_string(x.cols()) +
                          "] and targets [" + std::to_string(y.rows()) + ", " + std::to_string(y.cols()) +
                          "] do not fit a network " + std::to_string(model.input_size()) + " -> " +
                          std::to_string(model.output_size()));
  const auto t0 = std::chrono::steady_clock::now();
  auto params = model.parameters();
  Optimizer<T> opt(options.optim, params);
  Rng rng(options.seed);
  const bool full = options.batch == 0;
  Act<T> xb, yb, dout;
  if (!full) {
    xb.resize(options.batch, x.cols());
    yb.resize(options.batch, y.cols());
  }
  const std::int64_t every =
      options.log_interval > 0 ? options.log_interval : std::max<std::int64_t>(1, options.steps / 100);
  MlpTrainResult res;
  for (std::int64_t s = 0; s < options.steps; ++s) {
    if (interrupt_requested()) {
      res.status = Status::Interrupted;
      break;
    }
    if (!full)
      for (Index i = 0; i < options.batch; ++i) {
        const auto k = static_cast<Index>(rng.index(static_cast<std::uint64_t>(x.rows())));
        xb.row(i) = x.row(k);
        yb.row(i) = y.row(k);
      }
    const Act<T>& xs = full ? x : xb;
    const Act<T>& ys = full ? y : yb;
    const auto& pred = model.forward(xs);
    res.last_loss = mse_forward(pred, ys);
    if (!std::isfinite(res.last_loss)) {
      res.status = Status::NumericalIssue;
      break;
    }
    mse_backward(pred, ys, dout);
    model.zero_grad();
    model.backward(dout);
    opt.step(params);
    res.steps_done = s + 1;
    if (progress && (res.steps_done % every == 0 || res.steps_done == options.steps)) {
      ProgressEvent ev;
      ev.stage = "mlp-train";
      ev.iteration = static_cast<int>(res.steps_done);
      ev.objective = res.last_loss;
      ev.change = std::nan("");
      ev.elapsed_s = seconds_since(t0);
      progress(ev);
    }
  }
  res.elapsed_s = seconds_since(t0);
  return res;
}

template MlpTrainResult train_mlp<float>(Mlp<float>&, const Act<float>&, const Act<float>&, const MlpTrainOptions&,
                                         const ProgressCallback&);
template MlpTrainResult train_mlp<double>(Mlp<double>&, const Act<double>&, const Act<double>&, const MlpTrainOptions&,
                                          const ProgressCallback&);

}  // namespace lowrank::nn
