#!/usr/bin/env Rscript
## make_membership_reference.R -- reference values for the multiple-membership term (1 | mm(agent_id)).
##
## Usage (from the repository root):
##   Rscript tests/reference/make_membership_reference.R
##
## lme4 cannot write a multiple-membership term in a formula, but it fits the model once its
## random-effects model matrix is replaced: lFormula(y ~ ... + (1 | agent_id)) builds the indicator
## Zt of the rating-time agent; we put the weighted membership matrix (agents x contacts, a contact's
## weights summing to 1) in reTrms$Zt and reTrms$Ztlist, then mkLmerDevfun + optimizeLmer + mkMerMod.
## Satterthwaite df come from lmerTest's as_lmerModLT(fit, devfun) on that same deviance function
## (as_lmerModLmerTest would rebuild the indicator Zt from the formula).
##
## Writes datasets/membership_contacts.csv, datasets/membership_contact_agents.csv (made here,
## seeded), fixtures/membership_reml.json, fixtures/membership_ml.json (function "lmer_membership")
## and fixtures/membership_topbox_laplace.json (function "glmer_membership"), read by
## tests/test_membership.py. Helpers (write_dataset, merMod_common, ...) are make_reference.R's.

script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])
source(file.path(dirname(normalizePath(script_file)), "make_reference.R"))

## 40 agents, 600 rated contacts; a third handled by two or three agents, weights = each agent's share
## of the contact's public replies (1 to 3 replies each). Every agent is the rating-time agent of some
## contact, so lFormula's agent factor has every level.
simulate_membership <- function(seed = 22L, n_agents = 40L, n = 600L) {
  set.seed(seed)
  agents <- sprintf("G%02d", seq_len(n_agents))
  effect <- rnorm(n_agents, 0, 0.5)
  channel <- sample(c("chat", "email", "phone"), n, replace = TRUE)
  x <- round(rnorm(n), 3)
  contacts <- data.frame(contact_id = seq_len(n), channel = channel, x = x, agent_id = NA_character_)
  rows <- list()
  shared_part <- numeric(n)
  for (i in seq_len(n)) {
    k <- if (i %% 3 == 0) sample(2:3, 1) else 1L
    who <- if (i <= n_agents) c(agents[i], sample(setdiff(agents, agents[i]), k - 1)) else sample(agents, k)
    replies <- sample(1:3, k, replace = TRUE)
    w <- replies / sum(replies)
    contacts$agent_id[i] <- who[length(who)]          # rating time: the last agent
    rows[[i]] <- data.frame(contact_id = i, agent_id = who, weight = w)
    shared_part[i] <- sum(w * effect[match(who, agents)])
  }
  ca <- do.call(rbind, rows)
  chan_eff <- c(chat = 0, email = -0.3, phone = 0.2)[channel]
  contacts$y <- round(3.8 + chan_eff + 0.25 * x + shared_part + rnorm(n, 0, 0.8), 4)
  contacts <- contacts[, c("contact_id", "y", "channel", "x", "agent_id")]
  list(contacts = contacts, contact_agents = ca)
}

membership_fit <- function(contacts, ca, REML) {
  d <- contacts
  d$channel <- factor(d$channel, levels = sort(unique(d$channel)))
  agents <- sort(unique(ca$agent_id))
  d$agent_id <- factor(d$agent_id, levels = agents)
  lf <- lFormula(y ~ channel + x + (1 | agent_id), data = d, REML = REML)
  stopifnot(identical(levels(lf$reTrms$flist$agent_id), agents))
  W <- Matrix::sparseMatrix(i = match(ca$agent_id, agents), j = ca$contact_id, x = ca$weight,
                            dims = c(length(agents), nrow(d)), dimnames = list(agents, NULL))
  W <- as(W, "CsparseMatrix")
  lf$reTrms$Zt <- W
  lf$reTrms$Ztlist[[1]] <- W
  devfun <- do.call(mkLmerDevfun, lf)
  opt <- optimizeLmer(devfun)
  fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
  list(fit = fit, devfun = devfun)
}

build_membership <- function(name, REML, contacts, ca) {
  m <- membership_fit(contacts, ca, REML)
  fit <- m$fit
  res <- merMod_common(fit)
  res$sigma <- sigma(fit)
  cf <- coef(summary(fit))
  coefs <- coef_table(cf, "t value", NULL)
  fit_t <- lmerTest:::as_lmerModLT(fit, m$devfun)
  cs <- coef(summary(fit_t, ddf = "Satterthwaite"))
  for (i in seq_along(coefs)) {
    term <- coefs[[i]]$term
    coefs[[i]]$df_satterthwaite <- cs[term, "df"]
    coefs[[i]]$p_satterthwaite <- cs[term, "Pr(>|t|)"]
  }
  res$coef <- coefs
  res <- c(res, merMod_ranef(fit))
  head <- list(case = name,
               description = paste("Multiple-membership agent intercept: lme4 with reTrms$Zt replaced by the",
                                   "weighted contact-agent matrix,", if (REML) "REML" else "ML"),
               `function` = "lmer_membership",
               data = "datasets/membership_contacts.csv",
               membership = "datasets/membership_contact_agents.csv",
               formula = "y ~ channel + x + (1 | mm(agent_id))",
               r_formula = "lFormula(y ~ channel + x + (1 | agent_id)); Zt <- weighted membership",
               factors = list(channel = arr(levels(factor(contacts$channel)))),
               settings = list(REML = REML))
  path <- write_fixture(c(head, res, list(versions = versions())), name)
  cat("wrote", path, "\n")
}

## Top box (y >= 4) with a logistic GLMM: glFormula, Zt replaced, then lme4's two optimisation stages
## (nAGQ = 0, then Laplace) as glmer runs them.
build_membership_glmer <- function(name, contacts, ca) {
  d <- contacts
  d$channel <- factor(d$channel, levels = sort(unique(d$channel)))
  agents <- sort(unique(ca$agent_id))
  d$agent_id <- factor(d$agent_id, levels = agents)
  d$top <- as.integer(d$y >= 4)
  lf <- glFormula(top ~ channel + x + (1 | agent_id), data = d, family = binomial)
  W <- Matrix::sparseMatrix(i = match(ca$agent_id, agents), j = ca$contact_id, x = ca$weight,
                            dims = c(length(agents), nrow(d)), dimnames = list(agents, NULL))
  W <- as(W, "CsparseMatrix")
  lf$reTrms$Zt <- W
  lf$reTrms$Ztlist[[1]] <- W
  devfun <- do.call(mkGlmerDevfun, lf)
  opt <- optimizeGlmer(devfun)
  devfun <- updateGlmerDevfun(devfun, lf$reTrms)
  opt <- optimizeGlmer(devfun, stage = 2)
  fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
  res <- merMod_common(fit)
  res$coef <- coef_table(coef(summary(fit)), "z value", "Pr(>|z|)")
  res <- c(res, merMod_ranef(fit))
  head <- list(case = name,
               description = paste("Multiple-membership agent intercept, top box (y >= 4), Laplace: lme4 with",
                                   "reTrms$Zt replaced by the weighted contact-agent matrix"),
               `function` = "glmer_membership",
               data = "datasets/membership_contacts.csv",
               membership = "datasets/membership_contact_agents.csv",
               formula = "top ~ channel + x + (1 | mm(agent_id))",
               factors = list(channel = arr(levels(d$channel))),
               settings = list(nAGQ = 1))
  path <- write_fixture(c(head, res, list(versions = versions())), name)
  cat("wrote", path, "\n")
}

main_membership <- function() {
  sim <- simulate_membership()
  write_dataset(sim$contacts, "datasets/membership_contacts.csv")
  write_dataset(sim$contact_agents, "datasets/membership_contact_agents.csv")
  contacts <- read_dataset_csv("datasets/membership_contacts.csv")
  ca <- read_dataset_csv("datasets/membership_contact_agents.csv")
  build_membership("membership_reml", TRUE, contacts, ca)
  build_membership("membership_ml", FALSE, contacts, ca)
  build_membership_glmer("membership_topbox_laplace", contacts, ca)
}

main_membership()
