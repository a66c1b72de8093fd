# Run surveillance::farringtonFlexible on series written by bench/alerts_r_compare.py.
#
#   Rscript bench/alerts_r_compare.R COUNTS.csv B FIRST LAST OUTDIR [key=value ...]
#
# keys: cores (1), chunk (50 series per output file), w (3), noPeriods (10), pastWeeksNotIncluded (26),
# weightsThreshold (2.58), thresholdMethod (nbPlugin).
# COUNTS.csv: one series per row, one week per column, no header, "NA" for a missing week.
# B: years of history; FIRST..LAST: the weeks judged (1-based, as control$range).
# Writes OUTDIR/chunk_XXXXX.csv (one per CHUNK series; existing chunks are kept, so a run can be
# resumed) with one row per (series, week): upperbound, mu0 (exp(eta0)), expected (R's control$expected,
# NA where limit54 fails), phi, trend, alarm, pvalue.
# Numbers are written with 17 significant digits.
suppressPackageStartupMessages(library(surveillance))
suppressPackageStartupMessages(library(parallel))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 5) stop("usage: alerts_r_compare.R COUNTS.csv B FIRST LAST OUTDIR [key=value ...]")
counts <- as.matrix(read.csv(args[1], header = FALSE, na.strings = "NA"))
b <- as.integer(args[2])
first <- as.integer(args[3])
last <- as.integer(args[4])
outdir <- args[5]
opts <- list(
  cores = 1L, chunk = 50L, w = 3L, noPeriods = 10L, pastWeeksNotIncluded = 26L,
  weightsThreshold = 2.58, thresholdMethod = "nbPlugin"
)
for (kv in args[-(1:5)]) {
  parts <- strsplit(kv, "=", fixed = TRUE)[[1]]
  if (length(parts) != 2 || !(parts[1] %in% names(opts))) stop("unknown option: ", kv)
  opts[[parts[1]]] <- if (is.character(opts[[parts[1]]])) parts[2] else as(parts[2], class(opts[[parts[1]]]))
}
cores <- opts$cores
chunk <- opts$chunk
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

control <- list(
  range = first:last, b = b, w = opts$w, noPeriods = opts$noPeriods,
  pastWeeksNotIncluded = opts$pastWeeksNotIncluded,
  reweight = TRUE, weightsThreshold = opts$weightsThreshold, thresholdMethod = opts$thresholdMethod, alpha = 0.01,
  limit54 = c(5, 4), populationOffset = FALSE, trend = TRUE, pThresholdTrend = 0.05,
  glmWarnings = FALSE
)

fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

run_chunk <- function(i) {
  rows <- seq((i - 1) * chunk + 1, min(i * chunk, nrow(counts)))
  path <- file.path(outdir, sprintf("chunk_%05d.csv", i))
  if (file.exists(path)) return(path)
  obs <- t(counts[rows, , drop = FALSE])
  res <- farringtonFlexible(sts(observed = obs, frequency = 52), control = control)
  n_weeks <- length(control$range)
  out <- data.frame(
    series = rep(rows - 1, each = n_weeks),  # 0-based, as in Python
    week = rep(control$range - 1, times = length(rows)),
    upperbound = fmt(as.vector(upperbound(res))),
    mu0 = fmt(as.vector(res@control$mu0Vector)),
    expected = fmt(as.vector(res@control$expected)),
    phi = fmt(as.vector(res@control$phiVector)),
    trend = as.vector(res@control$trend),
    alarm = as.integer(as.vector(alarms(res))),
    pvalue = fmt(as.vector(res@control$pvalue))
  )
  tmp <- paste0(path, ".tmp")
  write.csv(out, tmp, row.names = FALSE, quote = FALSE)
  file.rename(tmp, path)
  path
}

n_chunks <- ceiling(nrow(counts) / chunk)
t0 <- proc.time()[["elapsed"]]
done <- mclapply(seq_len(n_chunks), run_chunk, mc.cores = cores, mc.preschedule = FALSE)
failed <- vapply(done, function(x) inherits(x, "try-error"), logical(1))
if (any(failed)) stop("chunks failed: ", paste(which(failed), collapse = ", "), "\n", done[failed][[1]])
cat(sprintf("R: %d series x %d weeks in %.1f s\n", nrow(counts), last - first + 1, proc.time()[["elapsed"]] - t0))
