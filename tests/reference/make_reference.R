#!/usr/bin/env Rscript
## make_reference.R -- reference values from lme4 / lmerTest / pbkrtest / ordinal
## for the Python mixed-model engine.
##
## Usage (from the repository root):
##   Rscript tests/reference/make_reference.R                 # every case not marked slow
##   Rscript tests/reference/make_reference.R --slow          # every case, slow ones too
##   Rscript tests/reference/make_reference.R case1 case2     # just the named cases
##   Rscript tests/reference/make_reference.R --list          # list the cases
##
## Each case writes fixtures/<case>.json and (re)writes the data set it uses to
## datasets/<name>.csv[.gz] (a data file is only rewritten when its content changes).
## To add a case, add one line to CASES below (see README.md, "Adding a case").

suppressPackageStartupMessages({
  library(Matrix)
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(ordinal)
  library(jsonlite)
})

script_dir <- function() {
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg[1])))
  else file.path(getwd(), "tests", "reference")
}
REF_DIR <- script_dir()

## ---------------------------------------------------------------------------
## Data sets: name -> file (relative to tests/reference/) and a function that
## returns the data frame exactly as fitted. Derived columns are plain columns.
## ---------------------------------------------------------------------------
## For data made outside R (e.g. a simulated data set written by Python), use
## make = function() read_dataset_csv("datasets/x.csv", factors = list(col = levels, ...)):
## the file is read back and left unchanged when it already holds exactly these values.
read_dataset_csv <- function(file, factors = list()) {
  d <- utils::read.csv(file.path(REF_DIR, file), check.names = FALSE, stringsAsFactors = FALSE)
  for (v in names(factors)) {
    lv <- factors[[v]]
    if (is.null(lv)) lv <- sort(unique(as.character(d[[v]])))
    d[[v]] <- factor(as.character(d[[v]]), levels = lv)
  }
  d
}

## InstEval's 73,421 ratings as contacts: contact_id = row number i; made-up times in 2025 Q1 in row
## order (InstEval's rows are sorted by student): 816 rows a day over 90 days, opened on the hour from
## 08:00 to 17:00, closed an hour later. (Times in a scrambled order triple the gzipped file's size.)
insteval_contacts <- function() {
  d <- lme4::InstEval
  n <- nrow(d)
  i <- seq_len(n) - 1
  opened <- as.POSIXct("2025-01-01 08:00:00", tz = "UTC") + ((i * 90) %/% n) * 86400 + (i %% 10) * 3600
  iso <- function(t) format(t, "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  sorted_factor <- function(x) factor(as.character(x), levels = sort(unique(as.character(x)), method = "radix"))
  data.frame(contact_id = seq_len(n), opened_at = iso(opened), closed_at = iso(opened + 3600),
             s = sorted_factor(d$s), d = sorted_factor(d$d), studage = sorted_factor(d$studage),
             lectage = sorted_factor(d$lectage), service = sorted_factor(d$service),
             dept = sorted_factor(d$dept), y = d$y, stringsAsFactors = FALSE)
}

DATASETS <- list(
  Dyestuff   = list(file = "datasets/Dyestuff.csv",   make = function() lme4::Dyestuff),
  Dyestuff2  = list(file = "datasets/Dyestuff2.csv",  make = function() lme4::Dyestuff2),
  Penicillin = list(file = "datasets/Penicillin.csv", make = function() lme4::Penicillin),
  Pastes     = list(file = "datasets/Pastes.csv",     make = function() lme4::Pastes),
  sleepstudy = list(file = "datasets/sleepstudy.csv", make = function() {
    d <- lme4::sleepstudy
    d$w <- 1 + (d$Days %% 3) / 2          # weights for sleepstudy_weighted_reml
    d$Days2 <- 2 * d$Days                 # collinear column for sleepstudy_rankdef_reml
    d
  }),
  ham        = list(file = "datasets/ham.csv",        make = function() lmerTest::ham),
  carrots    = list(file = "datasets/carrots.csv",    make = function() lmerTest::carrots),
  cbpp       = list(file = "datasets/cbpp.csv",       make = function() {
    d <- lme4::cbpp
    d$noninc <- d$size - d$incidence
    d$obs <- factor(seq_len(nrow(d)))            # observation-level random effect (overdispersion)
    d
  }),
  ## a simulated support data set written by Upstream's simulator (the bundled sample's CSAT replies)
  simulated  = list(file = "datasets/simulated.csv", make = function()
    read_dataset_csv("datasets/simulated.csv",
                     factors = list(policy = NULL, product = NULL, channel = NULL, issue_type = NULL,
                                    agent_id = NULL, customer_id = NULL))),
  wine       = list(file = "datasets/wine.csv",       make = function() ordinal::wine),
  InstEval   = list(file = "datasets/InstEval.csv.gz", make = function() {
    d <- lme4::InstEval
    d$top <- as.integer(d$y >= 4)
    d
  }),
  ## InstEval as a support-contact table for `upstream import csv` with datasets/InstEval_mapping.yaml:
  ## one row per rating (contact), made-up times in 2025 Q1, every factor with its labels in sorted
  ## (C-locale) order, as Upstream orders them, and lectage/studage unordered (treatment contrasts).
  InstEval_contacts = list(file = "datasets/InstEval_contacts.csv.gz", make = insteval_contacts)
)

## ---------------------------------------------------------------------------
## Case definitions. One constructor per model function; a case is a list.
##   prepare: optional function(data) -> data applied after the data set is
##            written (e.g. turning y into an ordered factor for clmm); it must
##            not change values, only R types, so the CSV still holds the data.
## ---------------------------------------------------------------------------
## study: for a data set that a test imports and runs through a study, list(name = <study>, mapping =
## <mapping file, relative to tests/reference/>): the mapping turns the data set's columns and labels
## into the canonical ones, so the test can compare the study's fit with this one (written to the fixture).
lmer_case <- function(name, data, formula, description, REML = TRUE, kr = FALSE,
                      weights = NULL, repeats = 3, slow = FALSE,
                      df_time_limit = Inf, study = NULL) {
  list(name = name, fun = "lmer", data = data, formula = formula,
       description = description, settings = list(REML = REML), weights = weights,
       kr = kr, repeats = repeats, slow = slow, df_time_limit = df_time_limit, study = study)
}
glmer_case <- function(name, data, formula, description, nAGQ = 1, repeats = 3,
                       slow = FALSE) {
  list(name = name, fun = "glmer", data = data, formula = formula,
       description = description,
       settings = list(nAGQ = nAGQ, family = "binomial", link = "logit"),
       weights = NULL, repeats = repeats, slow = slow)
}
clmm_case <- function(name, data, formula, description, nAGQ = 1, repeats = 1,
                      slow = FALSE, prepare = NULL, tight = TRUE) {
  list(name = name, fun = "clmm", data = data, formula = formula,
       description = description,
       settings = list(nAGQ = nAGQ, link = "logit", threshold = "flexible"),
       weights = NULL, repeats = repeats, slow = slow, prepare = prepare, tight = tight)
}
ordered_y <- function(d) { d$y <- factor(d$y, levels = 1:5, ordered = TRUE); d }
ordered_csat <- function(d) { d$csat <- factor(d$csat, levels = 1:5, ordered = TRUE); d }

CASES <- list(
  lmer_case("dyestuff_reml", "Dyestuff", "Yield ~ 1 + (1|Batch)",
            "Dyestuff, one random intercept, REML", kr = TRUE),
  lmer_case("dyestuff_ml", "Dyestuff", "Yield ~ 1 + (1|Batch)",
            "Dyestuff, one random intercept, ML", REML = FALSE, kr = TRUE),
  lmer_case("dyestuff2_reml", "Dyestuff2", "Yield ~ 1 + (1|Batch)",
            "Dyestuff2, random-intercept variance estimated at zero (singular fit), REML"),
  lmer_case("penicillin_reml", "Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)",
            "Penicillin, two crossed random intercepts, REML", kr = TRUE),
  lmer_case("pastes_reml", "Pastes", "strength ~ 1 + (1|batch/cask)",
            "Pastes, cask nested in batch, REML", kr = TRUE),
  lmer_case("sleepstudy_reml", "sleepstudy", "Reaction ~ Days + (Days|Subject)",
            "sleepstudy, correlated random intercept and slope, REML", kr = TRUE),
  lmer_case("sleepstudy_ml", "sleepstudy", "Reaction ~ Days + (Days|Subject)",
            "sleepstudy, correlated random intercept and slope, ML", REML = FALSE),
  lmer_case("sleepstudy_uncorr_reml", "sleepstudy", "Reaction ~ Days + (Days||Subject)",
            "sleepstudy, uncorrelated random intercept and slope (||), REML"),
  lmer_case("sleepstudy_weighted_reml", "sleepstudy", "Reaction ~ Days + (1|Subject)",
            "sleepstudy, random intercept, prior weights w = 1 + (Days %% 3)/2, REML",
            weights = "w"),
  lmer_case("sleepstudy_rankdef_reml", "sleepstudy", "Reaction ~ Days + Days2 + (1|Subject)",
            "sleepstudy, rank-deficient X (Days2 = 2*Days is dropped), REML"),
  lmer_case("ham_reml", "ham",
            "Informed.liking ~ Gender + Information * Product + (1|Consumer) + (1|Consumer:Product)",
            "lmerTest::ham, consumer and consumer-by-product intercepts, REML", kr = TRUE),
  lmer_case("carrots_reml", "carrots", "Preference ~ sens2 + Homesize + (1 + sens2|Consumer)",
            "lmerTest::carrots, correlated consumer intercept and sens2 slope, REML (3 rows with NA Preference dropped)",
            kr = TRUE),
  lmer_case("insteval_d_reml", "InstEval", "y ~ service + dept + (1|d)",
            "InstEval, lecturer random intercept, REML (elapsed = median of 3 fits)"),
  lmer_case("insteval_sd_reml", "InstEval", "y ~ service + dept + (1|s) + (1|d)",
            "InstEval, crossed student and lecturer random intercepts, REML",
            df_time_limit = 600),
  glmer_case("cbpp_laplace", "cbpp", "cbind(incidence, noninc) ~ period + (1|herd)",
             "cbpp, binomial GLMM, herd intercept, Laplace"),
  glmer_case("cbpp_agq10", "cbpp", "cbind(incidence, noninc) ~ period + (1|herd)",
             "cbpp, binomial GLMM, herd intercept, adaptive Gauss-Hermite nAGQ = 10",
             nAGQ = 10),
  glmer_case("insteval_topbox_laplace", "InstEval", "top ~ service + dept + (1|d)",
             "InstEval top-box (y >= 4) logistic GLMM, lecturer intercept, Laplace",
             repeats = 1),
  clmm_case("wine_laplace", "wine", "rating ~ temp + contact + (1|judge)",
            "ordinal::wine, cumulative logit, judge intercept, Laplace", repeats = 3),
  clmm_case("wine_agq10", "wine", "rating ~ temp + contact + (1|judge)",
            "ordinal::wine, cumulative logit, judge intercept, adaptive GHQ nAGQ = 10",
            nAGQ = 10, repeats = 3),
  glmer_case("cbpp_obs_laplace", "cbpp", "cbind(incidence, noninc) ~ period + (1|herd) + (1|obs)",
             "cbpp with an observation-level random effect: two random intercepts, Laplace"),
  lmer_case("insteval_agent_vs_system_reml", "InstEval_contacts",
            "y ~ service + dept + lectage + (1|d) + (1|s)",
            paste("InstEval imported as support contacts (lecturer = agent, student = customer): the crossed",
                  "agent x customer model agent_vs_system fits, REML"),
            repeats = 1, df_time_limit = 600,
            study = list(name = "agent_vs_system", mapping = "datasets/InstEval_mapping.yaml")),
  lmer_case("insteval_agent_vs_system_d_reml", "InstEval_contacts", "y ~ service + dept + lectage + (1|d)",
            paste("InstEval imported as support contacts: the one-factor agent model agent_vs_system bootstraps",
                  "(variance shares), REML"),
            repeats = 1, df_time_limit = 600,
            study = list(name = "agent_vs_system", mapping = "datasets/InstEval_mapping.yaml")),
  lmer_case("simulated_reml", "simulated",
            "csat ~ policy + product + channel + issue_type + (1|agent_id) + (1|customer_id)",
            "Upstream's simulated support data: CSAT with crossed agent and customer intercepts, REML",
            repeats = 1, df_time_limit = 600),
  glmer_case("simulated_topbox_laplace", "simulated", "top ~ policy + channel + (1|agent_id)",
             "Upstream's simulated support data: top-box CSAT, agent intercept, Laplace", repeats = 1),
  clmm_case("simulated_clmm_laplace", "simulated", "csat ~ policy + channel + (1|agent_id)",
            "Upstream's simulated support data: CSAT 1-5 cumulative logit, agent intercept, Laplace",
            prepare = ordered_csat),
  clmm_case("insteval_clmm_laplace", "InstEval", "y ~ service + dept + (1|d)",
            "InstEval y (1-5) as ordered factor, cumulative logit, lecturer intercept, Laplace",
            slow = TRUE, prepare = ordered_y, tight = FALSE)
)
names(CASES) <- vapply(CASES, `[[`, "", "name")

## ---------------------------------------------------------------------------
## Writing data sets: factors as level labels, numbers at full precision
## (shortest decimal that round-trips to the same double).
## ---------------------------------------------------------------------------
shortest_num <- function(x) {
  x <- as.double(x)
  out <- sprintf("%.15g", x)
  for (p in c(16, 17)) {
    bad <- !is.na(x) & suppressWarnings(as.numeric(out)) != x
    out[bad] <- sprintf(paste0("%.", p, "g"), x[bad])
  }
  out[is.na(x)] <- "NA"
  out
}

csv_lines <- function(d) {
  cols <- lapply(d, function(v) {
    if (is.factor(v) || is.character(v)) {
      s <- as.character(v)
      if (any(grepl("[\",]", s[!is.na(s)]))) s <- paste0("\"", gsub("\"", "\"\"", s), "\"")
      s[is.na(v)] <- "NA"
      s
    } else if (is.integer(v) || is.logical(v)) {
      s <- as.character(as.integer(v)); s[is.na(v)] <- "NA"; s
    } else shortest_num(v)
  })
  c(paste(names(d), collapse = ","), do.call(paste, c(cols, sep = ",")))
}

write_dataset <- function(d, file) {
  path <- file.path(REF_DIR, file)
  dir.create(dirname(path), showWarnings = FALSE, recursive = TRUE)
  lines <- csv_lines(d)
  if (file.exists(path) && identical(readLines(path), lines)) return(invisible(path))
  tmp <- tempfile(tmpdir = dirname(path), fileext = ".tmp")
  con <- if (grepl("\\.gz$", file)) gzfile(tmp, "w") else file(tmp, "w")
  writeLines(lines, con); close(con)
  file.rename(tmp, path)               # atomic: safe with a concurrent slow run
  check_roundtrip(d, path)
  invisible(path)
}

check_roundtrip <- function(d, path) {
  back <- utils::read.csv(path, colClasses = "character", check.names = FALSE,
                          na.strings = "NA")
  stopifnot(identical(names(back), names(d)), nrow(back) == nrow(d))
  for (v in names(d)) {
    orig <- d[[v]]
    ok <- if (is.factor(orig) || is.character(orig)) identical(back[[v]], as.character(orig))
          else identical(as.numeric(back[[v]]), as.numeric(orig))
    if (!ok) stop("column ", v, " of ", path, " does not round-trip")
  }
}

load_dataset <- function(name) {
  spec <- DATASETS[[name]]
  d <- spec$make()
  write_dataset(d, spec$file)
  d
}

## ---------------------------------------------------------------------------
## Shared helpers: timing, JSON pieces.
## ---------------------------------------------------------------------------
versions <- function() {
  v <- function(p) as.character(packageVersion(p))
  list(R = paste(R.version$major, R.version$minor, sep = "."), lme4 = v("lme4"),
       lmerTest = v("lmerTest"), pbkrtest = v("pbkrtest"), ordinal = v("ordinal"),
       Matrix = v("Matrix"), jsonlite = v("jsonlite"))
}

## `tight = TRUE` adds optimiser settings that drive lme4 to the optimum to ~1e-10 in the
## deviance: with its defaults lme4 stops ~1e-5 (relative) away in θ, which is larger than the
## tolerances the Python conformance tests use. Timings are from the default call. For clmm the
## tight refit is recorded beside the default fit (see run_case).
TIGHT <- list(
  lmer  = 'control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))',
  glmer = 'control = glmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))',
  ## ordinal's default tolerance for the inner (conditional-mode) Newton loop, gradTol = 1e-4, moves
  ## its Laplace log-likelihood by ~1e-3 on a data set with ~150 groups; 1e-6 removes that (1e-8
  ## leaves ordinal unable to compute vcov on the simulated data).
  clmm  = 'control = clmm.control(gradTol = 1e-6)')
r_call_text <- function(case, tight = FALSE) {
  s <- case$settings
  args <- switch(case$fun,
    lmer  = c(sprintf("REML = %s", s$REML),
              if (!is.null(case$weights)) sprintf("weights = %s", case$weights),
              if (tight) TIGHT$lmer),
    glmer = c("family = binomial(link = \"logit\")", sprintf("nAGQ = %d", s$nAGQ),
              if (tight) TIGHT$glmer),
    clmm  = c("link = \"logit\"", "threshold = \"flexible\"", sprintf("nAGQ = %d", s$nAGQ),
              if (tight) TIGHT$clmm))
  pkg <- if (case$fun == "clmm") "ordinal" else "lme4"
  sprintf("%s::%s(%s, data = %s, %s)", pkg, case$fun, case$formula, case$data,
          paste(args, collapse = ", "))
}

## Evaluate the R call `repeats` times; keep the last fit, the median elapsed
## time, and every warning/message raised while fitting.
timed_fit <- function(call_text, env, repeats) {
  times <- numeric(0); warns <- character(0); msgs <- character(0)
  for (i in seq_len(repeats)) {
    invisible(gc())
    t <- system.time(fit <- withCallingHandlers(
      eval(parse(text = call_text), envir = env),
      warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") },
      message = function(m) { msgs <<- c(msgs, trimws(conditionMessage(m))); invokeRestart("muffleMessage") }))
    times <- c(times, t[["elapsed"]])
  }
  list(fit = fit, elapsed = round(stats::median(times), 3), elapsed_runs = round(times, 3),
       warnings = unique(warns), messages = unique(msgs))
}

arr <- function(x) I(if (is.null(x)) character(0) else unname(as.vector(x)))  # always a JSON array
rows_of <- function(m) lapply(seq_len(nrow(m)), function(i) arr(m[i, ]))
named <- function(x) as.list(x)                   # named vector -> JSON object

factor_levels <- function(d, formula) {
  vars <- intersect(all.vars(as.formula(formula)), names(d))
  vars <- vars[vapply(vars, function(v) is.factor(d[[v]]) || is.character(d[[v]]), TRUE)]
  out <- lapply(vars, function(v) arr(levels(as.factor(d[[v]]))))
  names(out) <- vars
  out
}

varcorr_rows <- function(vc_df) {
  lapply(seq_len(nrow(vc_df)), function(i)
    list(grp = vc_df$grp[i], var1 = vc_df$var1[i], var2 = vc_df$var2[i],
         vcov = vc_df$vcov[i], sdcor = vc_df$sdcor[i]))
}

## ranef(fit, condVar = TRUE) -> modes, conditional SDs, and (multi-term
## factors) the full per-level conditional covariance matrices.
merMod_ranef <- function(fit) {
  re <- ranef(fit, condVar = TRUE)
  out <- list(); cond_cov <- list()
  for (g in names(re)) {
    df <- re[[g]]; pv <- attr(df, "postVar"); terms <- colnames(df)
    if (is.list(pv)) {
      # several terms for one factor, e.g. (x||g): lme4 gives one postVar block
      # per term and no cross-term covariances, so only the SDs are recorded.
      sds <- do.call(cbind, lapply(pv, function(a) sapply(seq_len(dim(a)[1]), function(k) sqrt(a[k, k, ]))))
    } else {
      sds <- sapply(seq_along(terms), function(k) sqrt(pv[k, k, ]))
      if (length(terms) > 1)
        cond_cov[[g]] <- lapply(seq_len(dim(pv)[3]), function(j) rows_of(pv[, , j]))
    }
    sds <- matrix(sds, ncol = length(terms))
    term_list <- lapply(seq_along(terms), function(k) list(mode = arr(df[[k]]), cond_sd = arr(sds[, k])))
    names(term_list) <- terms
    out[[g]] <- list(levels = arr(rownames(df)), terms = term_list)
  }
  list(ranef = out, ranef_cond_cov = if (length(cond_cov)) cond_cov else NULL)
}

coef_table <- function(cf, stat_col, p_col) {
  lapply(seq_len(nrow(cf)), function(i)
    list(term = rownames(cf)[i], estimate = cf[i, "Estimate"], std_error = cf[i, "Std. Error"],
         statistic = cf[i, stat_col], p_value = if (is.null(p_col)) NULL else cf[i, p_col]))
}

anova_rows <- function(a) {
  lapply(seq_len(nrow(a)), function(i)
    list(term = rownames(a)[i], sum_sq = a[i, "Sum Sq"], mean_sq = a[i, "Mean Sq"],
         num_df = a[i, "NumDF"], den_df = a[i, "DenDF"], F = a[i, "F value"],
         p_value = a[i, "Pr(>F)"]))
}

merMod_common <- function(fit) {
  th <- getME(fit, "theta")
  X <- getME(fit, "X")
  conv <- fit@optinfo$conv$lme4$messages
  list(
    nobs = nobs(fit),
    ngrps = named(ngrps(fit)),
    fixef = named(fixef(fit)),
    vcov = rows_of(as.matrix(vcov(fit))),
    varcorr = varcorr_rows(as.data.frame(VarCorr(fit))),
    theta = arr(th), theta_names = arr(names(th)),
    loglik = as.numeric(logLik(fit)),
    reml_crit = if (isREML(fit)) REMLcrit(fit) else NULL,
    deviance = if (isREML(fit)) NULL else deviance(fit),
    aic = AIC(fit), bic = BIC(fit),
    singular = isSingular(fit),
    converged_messages = arr(if (is.null(conv)) character(0) else conv),
    optimizer_warnings = arr(unlist(fit@optinfo$warnings)),
    dropped_columns = arr(names(attr(X, "col.dropped")))
  )
}

## ---------------------------------------------------------------------------
## Per-function result builders.
## ---------------------------------------------------------------------------
build_lmer <- function(case, fit, notes) {
  res <- merMod_common(fit)
  res$sigma <- sigma(fit)
  cf <- coef(summary(fit))                       # lme4: Estimate, Std. Error, t value
  coefs <- coef_table(cf, "t value", NULL)
  ## Satterthwaite (and KR) via lmerTest on the same fit; guarded by a time limit.
  t0 <- proc.time()[["elapsed"]]
  fit_t <- tryCatch({
    setTimeLimit(elapsed = case$df_time_limit, transient = TRUE)
    lmerTest::as_lmerModLmerTest(fit)
  }, error = function(e) { notes$add(paste("Satterthwaite not computed:", conditionMessage(e))); NULL })
  setTimeLimit(elapsed = Inf)
  if (!is.null(fit_t)) {
    cs <- coef(summary(fit_t, ddf = "Satterthwaite"))
    for (i in seq_along(coefs)) {
      term <- coefs[[i]]$term
      coefs[[i]]$df_satterthwaite <- cs[term, "df"]
      coefs[[i]]$p_satterthwaite <- cs[term, "Pr(>|t|)"]
    }
    res$anova <- anova_rows(anova(fit_t, type = 3, ddf = "Satterthwaite"))
  }
  res$satterthwaite_seconds <- round(proc.time()[["elapsed"]] - t0, 3)
  if (isTRUE(case$kr) && !is.null(fit_t)) {
    t0 <- proc.time()[["elapsed"]]
    ck <- tryCatch(coef(summary(fit_t, ddf = "Kenward-Roger")),
                   error = function(e) { notes$add(paste("KR summary failed:", conditionMessage(e))); NULL })
    if (!is.null(ck)) {
      for (i in seq_along(coefs)) {
        term <- coefs[[i]]$term
        coefs[[i]]$df_kr <- ck[term, "df"]
        coefs[[i]]$std_error_kr <- ck[term, "Std. Error"]
        coefs[[i]]$statistic_kr <- ck[term, "t value"]
        coefs[[i]]$p_kr <- ck[term, "Pr(>|t|)"]
      }
      res$anova_kr <- anova_rows(anova(fit_t, type = 3, ddf = "Kenward-Roger"))
    }
    res$kr_seconds <- round(proc.time()[["elapsed"]] - t0, 3)
  }
  res$coef <- coefs
  c(res, merMod_ranef(fit))
}

build_glmer <- function(case, fit, notes) {
  res <- merMod_common(fit)
  res$coef <- coef_table(coef(summary(fit)), "z value", "Pr(>|z|)")
  ## lme4's logLik for binomial GLMMs includes the full binomial log density
  ## under Laplace (nAGQ = 1) but is relative to the saturated model for
  ## nAGQ > 1; this is the saturated log-likelihood that separates the two.
  n <- weights(fit, type = "prior"); y <- getME(fit, "y")
  res$loglik_saturated <- sum(dbinom(round(y * n), n, y, log = TRUE))
  if (case$settings$nAGQ == 1 && length(getME(fit, "flist")) == 1 && length(getME(fit, "theta")) == 1)
    res$exact_laplace <- exact_laplace(fit)
  c(res, merMod_ranef(fit))
}

## The Laplace approximation computed exactly, for one random-intercept factor: per group the
## conditional mode by Newton's method to 1e-12 and the curvature at that mode. lme4's own
## Laplace deviance factors L with the IRLS weights of the penultimate PIRLS iterate, which moves
## its log-likelihood by ~1e-4 and its finite-difference Hessian (hence SEs) by up to ~1%.
## This independent implementation is the reference for estimates and SEs of the exact Laplace fit.
exact_laplace <- function(fit) {
  X <- getME(fit, "X"); y <- getME(fit, "y"); n <- weights(fit, type = "prior")
  k <- round(y * n); g <- as.integer(getME(fit, "flist")[[1]]); G <- max(g)
  const <- sum(lchoose(n, k))
  obj <- function(par) {
    th <- par[1]; off <- drop(X %*% par[-1]); u <- numeric(G)
    for (it in 1:200) {
      mu <- plogis(off + th * u[g])
      gr <- th * rowsum(k - n * mu, g)[, 1] - u
      H <- th^2 * rowsum(n * mu * (1 - mu), g)[, 1] + 1
      u <- u + pmax(pmin(gr / H, 5), -5)
      if (max(abs(gr)) < 1e-12) break
    }
    eta <- off + th * u[g]; mu <- plogis(eta)
    H <- th^2 * rowsum(n * mu * (1 - mu), g)[, 1] + 1
    ll <- sum(k * plogis(eta, log.p = TRUE) + (n - k) * plogis(-eta, log.p = TRUE)) + const
    -2 * ll + sum(u^2) + sum(log(H))
  }
  o <- optim(c(getME(fit, "theta"), fixef(fit)), obj, method = "BFGS",
             control = list(reltol = 1e-15, maxit = 2000))
  V <- 2 * solve(numDeriv::hessian(obj, o$par))
  list(theta = o$par[1], fixef = named(o$par[-1]), std_error = named(sqrt(diag(V))[-1]),
       loglik = -o$value / 2, convergence = o$convergence)
}

build_clmm <- function(case, fit, notes) {
  cf <- coef(summary(fit))
  a_names <- names(fit$alpha); b_names <- names(fit$beta)
  V <- as.matrix(vcov(fit))
  vc <- VarCorr(fit)
  varcorr <- lapply(names(vc), function(g) {
    m <- vc[[g]]
    list(grp = g, var1 = rownames(m)[1], var2 = NULL, vcov = m[1, 1],
         sdcor = unname(attr(m, "stddev")[1]))
  })
  re <- ranef(fit); cv <- condVar(fit)
  ranef_out <- lapply(names(re), function(g) {
    terms <- colnames(re[[g]])
    tl <- lapply(terms, function(k) list(mode = arr(re[[g]][[k]]), cond_sd = arr(sqrt(cv[[g]][[k]]))))
    names(tl) <- terms
    list(levels = arr(rownames(re[[g]])), terms = tl)
  })
  names(ranef_out) <- names(re)
  thr <- cf[a_names, , drop = FALSE]
  list(
    nobs = nobs(fit),
    ngrps = named(fit$dims$nlev.re),
    fixef = named(fit$beta),
    coef = coef_table(cf[b_names, , drop = FALSE], "z value", "Pr(>|z|)"),
    thresholds = lapply(seq_len(nrow(thr)), function(i)
      list(term = rownames(thr)[i], estimate = thr[i, "Estimate"], std_error = thr[i, "Std. Error"],
           statistic = thr[i, "z value"], p_value = thr[i, "Pr(>|z|)"])),
    vcov = rows_of(V[b_names, b_names, drop = FALSE]),
    vcov_full = rows_of(V), vcov_full_names = arr(rownames(V)),
    varcorr = varcorr,
    loglik = as.numeric(logLik(fit)), reml_crit = NULL, deviance = NULL,
    aic = AIC(fit), bic = BIC(fit),
    converged_messages = arr(if (fit$optRes$convergence != 0) fit$optRes$message else character(0)),
    optimizer = list(convergence = fit$optRes$convergence, message = fit$optRes$message,
                     max_abs_gradient = max(abs(fit$gradient)), cond_hessian = summary(fit)$condHess),
    dropped_columns = arr(character(0)),
    ranef = ranef_out
  )
}
BUILDERS <- list(lmer = build_lmer, glmer = build_glmer, clmm = build_clmm)

## ---------------------------------------------------------------------------
## JSON writing: full precision. jsonlite caps numbers at 15 significant
## digits, so every double is first turned into verbatim JSON text holding the
## shortest decimal that round-trips to the same double.
## ---------------------------------------------------------------------------
json_doubles <- function(x) {
  if (is.list(x)) {
    y <- lapply(x, json_doubles); names(y) <- names(x); return(y)
  }
  if (!is.double(x)) return(x)
  s <- shortest_num(x)
  s[!is.finite(x)] <- "null"
  if (inherits(x, "AsIs") || length(x) != 1)
    return(structure(paste0("[", paste(s, collapse = ", "), "]"), class = "json"))
  structure(s, class = "json")
}

write_fixture <- function(x, name) {
  path <- file.path(REF_DIR, "fixtures", paste0(name, ".json"))
  dir.create(dirname(path), showWarnings = FALSE, recursive = TRUE)
  txt <- toJSON(json_doubles(x), auto_unbox = TRUE, pretty = TRUE, null = "null",
                na = "null", json_verbatim = TRUE)
  writeLines(txt, path)
  back <- fromJSON(path, simplifyVector = FALSE)
  stopifnot(identical(back$case, x$case), !is.null(back$loglik))
  path
}

## ---------------------------------------------------------------------------
## Run one case end to end.
## ---------------------------------------------------------------------------
run_case <- function(case) {
  cat(sprintf("[%s] %s ...\n", format(Sys.time(), "%H:%M:%S"), case$name))
  d <- load_dataset(case$data)
  if (!is.null(case$prepare)) d <- case$prepare(d)
  env <- new.env(parent = globalenv())
  assign(case$data, d, envir = env)
  call_text <- r_call_text(case)
  tf <- timed_fit(call_text, env, case$repeats)
  timed_call <- call_text
  clmm_tight <- NULL
  if (case$fun %in% c("lmer", "glmer")) {        # estimates from the tightly converged refit
    call_text <- r_call_text(case, tight = TRUE)
    tight <- timed_fit(call_text, env, 1)
    tf$fit <- tight$fit
    tf$warnings <- unique(c(tf$warnings, tight$warnings)); tf$messages <- unique(c(tf$messages, tight$messages))
  } else if (case$fun == "clmm" && isTRUE(case$tight)) {
    ## clmm: the default fit stays the reference for estimates and SEs (with gradTol = 1e-6 the
    ## inner loop's step-halving warnings make ordinal's finite-difference Hessian unreliable:
    ## SEs moved by 6% on the simulated data); the tight refit's log-likelihood is recorded beside
    ## it because ordinal's default inner tolerance moves the Laplace log-likelihood by ~1e-3.
    tight_call <- r_call_text(case, tight = TRUE)
    tight <- suppressWarnings(eval(parse(text = tight_call), envir = env))
    clmm_tight <- list(r_call = tight_call, loglik = as.numeric(logLik(tight)),
                       estimates = named(c(tight$alpha, tight$beta)),
                       sd = unname(attr(VarCorr(tight)[[1]], "stddev")[1]))
  }
  note_store <- character(0)
  notes <- list(add = function(s) note_store <<- c(note_store, s))
  body <- withCallingHandlers(BUILDERS[[case$fun]](case, tf$fit, notes),
    warning = function(w) {
      notes$add(paste("warning after the fit:", conditionMessage(w))); invokeRestart("muffleWarning") })
  head <- list(
    case = case$name, description = case$description, "function" = case$fun,
    data = DATASETS[[case$data]]$file, formula = case$formula,
    factors = factor_levels(d, case$formula), settings = case$settings,
    weights = case$weights, r_call = call_text, r_call_timed = timed_call)
  if (!is.null(case$study)) head$study <- case$study
  tail <- list(
    elapsed_seconds = tf$elapsed, elapsed_runs = arr(tf$elapsed_runs),
    fit_warnings = arr(tf$warnings), fit_messages = arr(tf$messages),
    notes = arr(note_store), versions = versions())
  if (!is.null(clmm_tight)) body$tight <- clmm_tight
  path <- write_fixture(c(head, body, tail), case$name)
  cat(sprintf("    fit %.2fs (runs: %s) -> %s\n", tf$elapsed,
              paste(sprintf("%.2f", tf$elapsed_runs), collapse = ", "), path))
  for (w in c(tf$warnings, tf$messages, note_store)) cat("    note:", w, "\n")
  invisible(path)
}

main <- function(args = commandArgs(trailingOnly = TRUE)) {
  if ("--list" %in% args) {
    for (cs in CASES) cat(sprintf("%-28s %-6s %-11s %s%s\n", cs$name, cs$fun, cs$data, cs$formula,
                                  if (cs$slow) "   [slow]" else ""))
    return(invisible())
  }
  wanted <- setdiff(args, "--slow")
  unknown <- setdiff(wanted, names(CASES))
  if (length(unknown)) stop("unknown case(s): ", paste(unknown, collapse = ", "))
  todo <- if (length(wanted)) CASES[wanted]
          else Filter(function(cs) "--slow" %in% args || !cs$slow, CASES)
  failed <- character(0)
  for (cs in todo) {
    ok <- tryCatch({ run_case(cs); TRUE }, error = function(e) {
      cat("    ERROR:", conditionMessage(e), "\n"); FALSE })
    if (!ok) failed <- c(failed, cs$name)
  }
  if (length(failed)) { cat("failed:", failed, "\n"); quit(status = 1) }
}

if (sys.nframe() == 0L) main()
