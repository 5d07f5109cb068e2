// Reads a ratings file ("user item rating" per line), holds out 20% of the
// ratings, fits soft-impute on the rest and predicts the held-out ones:
//
//   complete_ratings RATINGS [LAMBDA_FRACTION]
//
// LAMBDA_FRACTION (default 0.2) sets lambda as a fraction of lambda_max, the
// smallest lambda whose fit is zero. Exits 0 when the model predicts the
// held-out ratings better than their training mean does, 1 when it does not,
// 2 on bad input (with the library's message naming file and line).
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include "lowrank/completion/soft_impute.hpp"
#include "lowrank/core/error.hpp"
#include "lowrank/core/splits.hpp"
#include "lowrank/core/version.hpp"
#include "lowrank/io/triplets.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s RATINGS [LAMBDA_FRACTION]\n", argv[0]);
    return 2;
  }
  try {
    const double fraction = argc == 3 ? std::stod(argv[2]) : 0.2;
    // Ids are strings in the file; the reader maps them to rows and columns.
    const lowrank::ObservedEntries<double> all = lowrank::io::read_triplets(argv[1]);
    const lowrank::Split split = lowrank::random_holdout(all, 0.2, /*seed=*/1);
    const auto train = all.subset(split.train);
    const auto test = all.subset(split.test);

    lowrank::SoftImputeOptions options;
    options.scaling = lowrank::BiScaleOptions{};  // centre and scale rows and columns first
    options.lambda = fraction * lowrank::lambda_max(train, options.scaling);
    options.max_rank = 5;
    options.max_iterations = 200;
    const auto fit = lowrank::soft_impute(train, options);

    // Baseline: the mean training rating for every held-out pair.
    double mean = 0;
    for (double v : train.value) mean += v;
    mean /= static_cast<double>(train.nnz());
    double se_model = 0, se_mean = 0;
    const std::vector<double> predicted = fit.model.predict(test.row, test.col);
    for (std::size_t k = 0; k < test.nnz(); ++k) {
      se_model += std::pow(predicted[k] - test.value[k], 2);
      se_mean += std::pow(mean - test.value[k], 2);
    }
    const double n = static_cast<double>(test.nnz());
    const double rmse_model = std::sqrt(se_model / n), rmse_mean = std::sqrt(se_mean / n);
    std::printf("lowrank %s: %lld users x %lld items, %zu ratings (%zu held out)\n", lowrank::kVersion,
                static_cast<long long>(all.rows), static_cast<long long>(all.cols), all.nnz(), test.nnz());
    std::printf("soft-impute lambda %.4g: rank %lld, %d iterations (%s)\n", fit.lambda,
                static_cast<long long>(fit.model.rank()), fit.iterations, lowrank::to_string(fit.status));
    std::printf("held-out RMSE %.4f (the training mean: %.4f)\n", rmse_model, rmse_mean);
    std::printf("user %s, item %s: rated %.2f, predicted %.2f\n", all.row_ids.name(test.row[0]).c_str(),
                all.col_ids.name(test.col[0]).c_str(), test.value[0], predicted[0]);
    return rmse_model < rmse_mean ? 0 : 1;
  } catch (const lowrank::InputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // InvalidArgument, std::stod
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
