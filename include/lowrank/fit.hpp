#pragma once
// One entry for every completion method: lowrank::fit() fits soft-impute
// (both forms), ALS, robust ALS and GAME along a lambda path with k-fold CV
// and returns one result type, CompletionFit (completion/fit.hpp): the model
// (with GAME's per-group parts), the CV table with the fold count per lambda,
// status, stopping reason and timing, and for GAME a `game` report (KKT
// residuals, fit counts, per-group ranks).
//
// Why a thin top-level header: the layers forbid completion/ to include
// game/ (GAME is built on completion's CV loop and model), so the one entry
// cannot live in completion/fit.hpp; it is declared here and compiled with
// game (src/game/fit_any.cpp), the lowest library that sees both. It only
// dispatches: method Game runs fit_game_path() with `game` and `groups`;
// every other method runs fit_completion() with `completion`. GAME keeps its
// own path options because its defaults differ (grid of 10 from 0.02
// lambda_max, patience 2, loose float fold fits: game/path.hpp says why);
// fit_game_path() stays available for GAME's full result (per-group fits,
// certificates), and fit_completion() for the completion methods alone.
#include "lowrank/completion/fit.hpp"
#include "lowrank/core/observed_entries.hpp"
#include "lowrank/game/path.hpp"

namespace lowrank {

struct FitOptions {
  /// Every method's settings; completion.method picks the method.
  CompletionFitOptions completion;
  /// completion.method == Game: all of GAME's settings (completion's other
  /// fields are then not read) ...
  GamePathOptions game;
  /// ... and the row groups (RowGroups order is kept in the model and report).
  RowGroups groups;
};

/// Fits `data` with options.completion.method. Throws InvalidArgument as
/// fit_completion() / fit_game_path() do.
template <class T>
CompletionFit<T> fit(const ObservedEntries<T>& data, const FitOptions& options);

/// As fit(); the completion methods store their matrix in `data`'s arrays
/// (fit_completion_in_place: `data` comes back sorted by (row, col)); GAME
/// leaves `data` as it is.
template <class T>
CompletionFit<T> fit_in_place(ObservedEntries<T>& data, const FitOptions& options);

/// fit_completion_float32_in_place for entries read in float (the CLI's
/// --float32); GAME does not fit in float and throws InvalidArgument.
CompletionFit<double> fit_float32_in_place(ObservedEntries<float>& data, ObservedEntries<double>& back,
                                           const FitOptions& options);

extern template CompletionFit<float> fit(const ObservedEntries<float>&, const FitOptions&);
extern template CompletionFit<double> fit(const ObservedEntries<double>&, const FitOptions&);
extern template CompletionFit<float> fit_in_place(ObservedEntries<float>&, const FitOptions&);
extern template CompletionFit<double> fit_in_place(ObservedEntries<double>&, const FitOptions&);

}  // namespace lowrank
