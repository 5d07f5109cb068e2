#!/usr/bin/env Rscript
# Independent reference values for lowrank's soft-impute (issue 4), produced
# with R softImpute 1.4-3 (Hastie & Mazumder; Mazumder, Hastie, Tibshirani
# 2010; Hastie, Mazumder, Lee, Zadeh 2015).
#
# Usage (from the repository root, after bench/peers/install_softimpute.sh):
#   R_LIBS=build-peers/Rlib Rscript tests/data/completion/make_softimpute_reference.R
#
# For each planted problem NAME it writes, next to this script:
#   NAME.entries.txt          "rows cols nnz", then nnz lines "row col value"
#                             (0-based indices, column-major order of R's
#                             dgCMatrix, the order the fitted values use)
#   NAME.softimpute_svd.txt   result of softImpute(type = "svd")
#   NAME.softimpute_als.txt   result of softImpute(type = "als")
#   NAME.biscale.txt          biScale() of the same data (row/col centre+scale)
# A result file holds "key value..." lines:
#   lambda, rank_max, thresh, maxit, rank (number of d > 0),
#   objective  = 1/2 ||P_Omega(X - Z)||_F^2 + lambda ||Z||_*  (not divided by nnz),
#   d          the singular values of Z (softImpute's $d, zeros dropped),
#   fitted     then nnz lines: Z at the observed entries, in entries order.
# Every number is printed with 17 significant digits.
suppressMessages({
  library(Matrix)
  library(softImpute)
})
stopifnot(as.character(packageVersion("softImpute")) == "1.4.3")

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
outdir <- if (length(script)) dirname(normalizePath(script)) else "."

fmt <- function(x) formatC(x, digits = 17, format = "g")

planted <- function(m, n, r, frac, noise, seed) {
  set.seed(seed)
  repeat {
    x <- matrix(rnorm(m * r), m, r) %*% matrix(rnorm(r * n), r, n) + noise * matrix(rnorm(m * n), m, n)
    obs <- sample(m * n, round(frac * m * n))
    mask <- matrix(FALSE, m, n)
    mask[obs] <- TRUE
    if (all(rowSums(mask) > 0) && all(colSums(mask) > 0)) break
  }
  xna <- x
  xna[!mask] <- NA
  as(xna, "Incomplete")
}

write_entries <- function(xs, name) {
  xs <- as(xs, "dgCMatrix")
  j <- rep(seq_len(ncol(xs)), diff(xs@p)) - 1L
  lines <- c(paste(nrow(xs), ncol(xs), length(xs@x)),
             paste(xs@i, j, fmt(xs@x)))
  writeLines(lines, file.path(outdir, paste0(name, ".entries.txt")))
}

write_fit <- function(xs, fit, lambda, rank_max, thresh, maxit, name, type) {
  xs <- as(xs, "dgCMatrix")
  j <- rep(seq_len(ncol(xs)), diff(xs@p))
  i <- xs@i + 1L
  u <- as.matrix(fit$u); v <- as.matrix(fit$v); d <- fit$d
  keep <- d > 0
  u <- u[, keep, drop = FALSE]; v <- v[, keep, drop = FALSE]; d <- d[keep]
  fitted <- rowSums((u[i, , drop = FALSE] * rep(d, each = length(i))) * v[j, , drop = FALSE])
  objective <- 0.5 * sum((xs@x - fitted)^2) + lambda * sum(d)
  lines <- c(
    paste("# R softImpute", as.character(packageVersion("softImpute")), "type", type),
    paste("lambda", fmt(lambda)),
    paste("rank_max", rank_max),
    paste("thresh", fmt(thresh)),
    paste("maxit", format(maxit, scientific = FALSE)),
    paste("rank", length(d)),
    paste("objective", fmt(objective)),
    paste(c("d", fmt(d)), collapse = " "),
    "fitted",
    fmt(fitted))
  writeLines(lines, file.path(outdir, paste0(name, ".softimpute_", type, ".txt")))
  cat(sprintf("%-10s %-3s lambda %8.4f rank %2d objective %.12g\n", name, type, lambda, length(d), objective))
  objective
}

write_biscale <- function(xs, name) {
  b <- biScale(xs, maxit = 200, thresh = 1e-14)
  r <- attr(b, "biScale:row"); cl <- attr(b, "biScale:column")
  lines <- c("# R softImpute biScale(x, maxit = 200, thresh = 1e-14), all four on",
             paste(c("row_center", fmt(r$center)), collapse = " "),
             paste(c("row_scale", fmt(r$scale)), collapse = " "),
             paste(c("col_center", fmt(cl$center)), collapse = " "),
             paste(c("col_scale", fmt(cl$scale)), collapse = " "))
  writeLines(lines, file.path(outdir, paste0(name, ".biscale.txt")))
}

problems <- list(
  list(name = "planted60x40", m = 60, n = 40, r = 3, frac = 0.4, noise = 0.5, seed = 20240601,
       rank_max = 10, lambda_frac = 0.15),
  list(name = "planted100x80", m = 100, n = 80, r = 5, frac = 0.3, noise = 0.3, seed = 20240602,
       rank_max = 15, lambda_frac = 0.1))

thresh <- 1e-12
maxit <- 200000
for (p in problems) {
  xs <- planted(p$m, p$n, p$r, p$frac, p$noise, p$seed)
  write_entries(xs, p$name)
  lambda <- signif(p$lambda_frac * lambda0(xs), 6)
  objs <- c()
  for (type in c("svd", "als")) {
    set.seed(1)
    fit <- softImpute(xs, rank.max = p$rank_max, lambda = lambda, type = type,
                      thresh = thresh, maxit = maxit)
    if (sum(fit$d > 0) >= p$rank_max) stop("solution rank reached rank.max; raise lambda")
    objs <- c(objs, write_fit(xs, fit, lambda, p$rank_max, thresh, maxit, p$name, type))
  }
  cat(sprintf("%-10s relative svd/als objective gap %.3g\n", p$name, abs(diff(objs)) / max(objs)))
  write_biscale(xs, p$name)
}
