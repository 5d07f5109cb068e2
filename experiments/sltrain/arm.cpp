// One arm of experiments/sltrain/grid.sh without the CLI: the same library
// calls as `lowrank train` (TrainOptions -> apply_preset -> Trainer::run) and
// the same CSV columns, for a build where only lowrank_nn is compiled (the
// CLI links every area; on the shared 2-core machine issue 30's slice started
// from this while the CLI was still compiling).
//
//   arm DATA LOG.csv KEY=VALUE ...   keys: preset parameterization b_init alpha
//   delta lr steps seed width rank eval_interval eval_batches warmup
//
// Build: c++ -O3 -std=c++20 -fopenmp -DEIGEN_USE_BLAS -Iinclude -isystem /usr/include/eigen3 \
//   experiments/sltrain/arm.cpp build/liblowrank_nn.a build/liblowrank_io.a build/liblowrank_linalg.a \
//   build/liblowrank_core.a -lopenblas -llapacke -lzip -lz -lre2 -lfmt -o /tmp/arm
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "lowrank/nn/train.hpp"

using namespace lowrank::nn;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: arm DATA LOG.csv KEY=VALUE...\n");
    return 2;
  }
  std::map<std::string, std::string> kv;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    const auto eq = a.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "arm: expected KEY=VALUE, got %s\n", argv[i]);
      return 2;
    }
    kv[a.substr(0, eq)] = a.substr(eq + 1);
  }
  auto get = [&](const char* k, const std::string& d) { return kv.count(k) ? kv[k] : d; };
  TrainOptions o;
  o.data_path = argv[1];
  o.model.linear.kind = parse_parameterization(get("parameterization", "dense"));
  o.model.width = std::stoll(get("width", "128"));
  o.model.n_layer = 4;
  o.model.n_head = 4;
  o.model.context = 64;
  o.batch = 12;
  o.model.linear.rank = std::stoll(get("rank", std::to_string(o.model.width / 4)));
  o.steps = std::stoll(get("steps", "1000"));
  o.optim.total_steps = std::max<std::int64_t>(1, o.steps);
  o.seed = o.model.seed = std::stoull(get("seed", "0"));
  o.eval_interval = std::stoll(get("eval_interval", "50"));
  o.eval_batches = std::stoll(get("eval_batches", "20"));
  if (kv.count("preset")) apply_preset(kv["preset"], o);
  if (kv.count("b_init")) o.model.linear.b_init = parse_b_init(kv["b_init"]);
  if (kv.count("alpha")) o.model.linear.alpha = std::stod(kv["alpha"]);
  if (kv.count("delta")) o.model.linear.delta = std::stod(kv["delta"]);
  if (kv.count("lr")) o.optim.lr = std::stod(kv["lr"]);
  if (kv.count("warmup")) {
    o.optim.warmup_steps = std::stoll(kv["warmup"]);
    o.optim.warmup_fraction = 0;
  }
  Trainer t(o);
  std::FILE* csv = std::fopen(argv[2], "w");
  if (!csv) return 2;
  std::fprintf(csv, "step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s\n");
  const auto res = t.run({}, [&](const TrainLogRow& r) {
    if (std::isnan(r.val_loss))
      std::fprintf(csv, "%lld,%.6f,,%.6g,%.6g,%.1f,%.3f\n", static_cast<long long>(r.step), r.train_loss, r.lr,
                   r.grad_norm, r.tokens_per_s, r.elapsed_s);
    else
      std::fprintf(csv, "%lld,%.6f,%.6f,%.6g,%.6g,%.1f,%.3f\n", static_cast<long long>(r.step), r.train_loss,
                   r.val_loss, r.lr, r.grad_norm, r.tokens_per_s, r.elapsed_s);
    std::fflush(csv);
  });
  std::fclose(csv);
  std::printf("{\"final_val_loss\": %.6f, \"tokens_per_s\": %.1f, \"params\": %lld, \"config\": %s}\n",
              res.final_val_loss, res.tokens_per_s, static_cast<long long>(res.memory.param_count),
              options_to_json(t.options()).c_str());
  return res.status == lowrank::Status::Success ? 0 : 1;
}
