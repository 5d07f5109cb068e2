// lowrank::fit: the one entry for every completion method (lowrank/fit.hpp).
#include "lowrank/fit.hpp"

namespace lowrank {

namespace {

template <class T>
CompletionFit<T> fit_game_any(const ObservedEntries<T>& data, const FitOptions& options) {
  CompletionFit<T> out = to_completion_fit(fit_game_path(data, options.groups, options.game), options.game);
  if (!out.game->fitted) {  // interrupted before any iteration: a zero model of the data's shape
    out.model.rows = data.rows;
    out.model.cols = data.cols;
    out.model.U.resize(data.rows, 0);
    out.model.V.resize(data.cols, 0);
  }
  return out;
}

}  // namespace

template <class T>
CompletionFit<T> fit(const ObservedEntries<T>& data, const FitOptions& options) {
  if (options.completion.method == CompletionMethod::Game) return fit_game_any(data, options);
  return fit_completion(data, options.completion);
}

template <class T>
CompletionFit<T> fit_in_place(ObservedEntries<T>& data, const FitOptions& options) {
  if (options.completion.method == CompletionMethod::Game) return fit_game_any(data, options);
  return fit_completion_in_place(data, options.completion);
}

CompletionFit<double> fit_float32_in_place(ObservedEntries<float>& data, ObservedEntries<double>& back,
                                           const FitOptions& options) {
  if (options.completion.method == CompletionMethod::Game)
    throw InvalidArgument(
        "GAME does not fit in float32 (float32 applies to soft-impute, soft-impute-svd, als and "
        "robust-als)");
  return fit_completion_float32_in_place(data, back, options.completion);
}

template CompletionFit<float> fit(const ObservedEntries<float>&, const FitOptions&);
template CompletionFit<double> fit(const ObservedEntries<double>&, const FitOptions&);
template CompletionFit<float> fit_in_place(ObservedEntries<float>&, const FitOptions&);
template CompletionFit<double> fit_in_place(ObservedEntries<double>&, const FitOptions&);

}  // namespace lowrank
