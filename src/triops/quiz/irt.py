"""Item response theory for readiness and placement: the two-parameter logistic model, item
calibration with priors, and ability estimates with their uncertainty.

The model (two-parameter logistic, Birnbaum 1968): a learner of ability theta answers item i
right with probability P = 1 / (1 + exp(-a_i (theta - b_i))), where b_i is the item's
difficulty and a_i its discrimination. Abilities are on the scale of this installation's
learners: in each course domain, abilities are taken to be standard normal across learners.
A fractional score (partial credit on a multiple-response item) counts as that fraction of a
right answer in the likelihood (y log P + (1 - y) log(1 - P)).

Calibration (`calibrate`) maximises the marginal posterior of the item parameters: the
learners' abilities are integrated out over a standard normal by Gauss-Hermite quadrature
(Bock and Aitkin 1981), and the items have a hierarchical prior:
- each authored difficulty level has a mean difficulty m, itself with a prior around the
  level's authored value, m ~ Normal(LEVEL_MEAN, LEVEL_SD): foundation -1, practitioner 0,
  expert +1 (no authored difficulty: 0);
- an item's difficulty b ~ Normal(m of its level, B_SD) (UNKNOWN_B_SD without a level);
- log discrimination log a ~ Normal(0, LOG_A_SD).
So a new bank works on day one (every b sits at its authored level), an item with few answers
stays near its level, and the level means move with the data: a question nobody has answered
yet takes the mean difficulty the installation's answers give its level, not a number an
author guessed. These numbers are Triops's modelling choices, not published constants; the
calibration simulation (tests/test_readiness.py, bench/readiness_bench.py) checks the
predictions they lead to.

An item answered by fewer than RASCH_BELOW learners keeps a = 1 and only its difficulty is
fitted (the Rasch model: with thin data a slope cannot be told apart from noise); an item
nobody answered keeps a = 1 and its level's mean difficulty and is labelled "prior", never
"fitted".

Each learner's answers in one course domain form one "examinee" of the calibration: an item
belongs to one domain, so the marginal likelihood of every domain's answers is exact under
the standard normal of that domain's abilities, and the item parameters are consistent
(answers in other domains of the same learner are left out of each other's integral, which
only costs efficiency).

The fit is the Bock-Aitkin EM algorithm (expected counts per item and quadrature node, then a
vectorised Newton step per item) to get close, and scipy's L-BFGS-B on the exact marginal log
posterior and its analytic gradient to finish. `calibrate_scipy_only` runs L-BFGS-B alone from
the prior means on the same objective: bench/readiness_bench.py compares the two.

Ability (`posterior`): within a track, a learner's domain abilities have the prior
Normal(0, S) with S = (1 - RHO) I + RHO 11' (domains correlated, so a domain with few answers
borrows strength from the others); the posterior is found by Newton's method and approximated
by the normal at its mode (the Laplace approximation), whose covariance gives the intervals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

# SciPy (about 40 MB of a server's memory) is imported on first use, not with this module: the
# pages import readiness and placement, and most page views of a profile without evidence never
# fit or score anything.


def expit(x):
    """The logistic function (scipy.special.expit)."""
    from scipy.special import expit as logistic

    return logistic(x)


def log_expit(x):
    """log(expit(x)), without overflow (scipy.special.log_expit)."""
    from scipy.special import log_expit as log_logistic

    return log_logistic(x)


LEVELS = ("foundation", "practitioner", "expert")
LEVEL_MEAN = np.array([-1.0, 0.0, 1.0, 0.0])  # the three levels, then "no authored level"
LEVEL_SD = 0.5
B_SD = 1.0
UNKNOWN_B_SD = 1.5
LOG_A_SD = 0.4
RASCH_BELOW = 30
NODES = 31
RHO = 0.7
Z90 = 1.6448536269514722  # the standard normal's 95th percentile: a 90 % two-sided interval

PRIOR, RASCH, TWO_PL = "prior", "rasch", "2pl"

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(NODES)
_LOG_WEIGHTS = np.log(_WEIGHTS / _WEIGHTS.sum())


def prob(theta, a, b):
    """The 2PL probability of a right answer (broadcasts)."""
    return expit(np.asarray(a) * (np.asarray(theta) - np.asarray(b)))


def information(theta, a, b):
    """Fisher information of a 2PL item at theta: a^2 P (1 - P)."""
    p = prob(theta, a, b)
    return np.asarray(a) ** 2 * p * (1.0 - p)


def levels(difficulties) -> np.ndarray:
    """The level code of each authored difficulty: 0, 1, 2 for LEVELS, 3 for none or unknown."""
    code = {name: i for i, name in enumerate(LEVELS)}
    return np.array([code.get(d, len(LEVELS)) for d in difficulties], np.int64)


def difficulty_prior(difficulties, level_means=None) -> np.ndarray:
    """The difficulty an item is assumed to have before anyone answers it: its level's mean
    (LEVEL_MEAN on day one, a calibration's `level_means` after)."""
    means = LEVEL_MEAN if level_means is None else np.asarray(level_means, float)
    return means[levels(difficulties)]


@dataclass(frozen=True)
class Answers:
    """Graded answers as integer codes: person (a learner within one domain), item, score."""

    person: np.ndarray
    item: np.ndarray
    score: np.ndarray
    n_persons: int
    n_items: int

    @classmethod
    def of(cls, person, item, score, n_items: int) -> Answers:
        person = np.asarray(person, np.int64)
        order = np.argsort(person, kind="stable")
        person = person[order]
        return cls(
            person,
            np.asarray(item, np.int64)[order],
            np.clip(np.asarray(score, float)[order], 0.0, 1.0),
            int(person.max()) + 1 if len(person) else 0,
            int(n_items),
        )


@dataclass(frozen=True)
class Fit:
    """Calibrated item parameters, one entry per item of the calibration."""

    a: np.ndarray
    b: np.ndarray
    model: np.ndarray  # PRIOR, RASCH or TWO_PL per item
    answers: np.ndarray  # answers per item
    level_means: np.ndarray  # the mean difficulty of each level (LEVEL_MEAN's order)
    log_posterior: float
    iterations: int
    evaluations: int
    seconds: float
    converged: bool


class _Problem:
    """The marginal log posterior of the item parameters and its gradient.

    Answers are held as two sparse person x item matrices (the score, and one minus it), so a
    pass over the data is three sparse products with item x node tables. The free parameters
    are log a of the 2PL items, b of every answered item, and the level means."""

    def __init__(self, data: Answers, level: np.ndarray, rasch_below: int):
        self.data = data
        self.level = np.asarray(level, np.int64)
        self.b_sd = np.where(self.level == len(LEVELS), UNKNOWN_B_SD, B_SD)
        shape = (max(1, data.n_persons), data.n_items)
        cells = (data.person, data.item)
        from scipy import sparse

        right = sparse.csr_matrix((data.score, cells), shape=shape)
        wrong = sparse.csr_matrix((1.0 - data.score, cells), shape=shape)
        self.right, self.wrong = right, wrong
        self.right_t = right.T.tocsr()
        self.seen_t = (right + wrong).T.tocsr()  # items x persons
        self.counts = np.bincount(data.item, minlength=data.n_items)
        pairs = sparse.csr_matrix((np.ones(len(data.item)), cells), shape=shape).T.tocsr()
        learners = np.diff(pairs.indptr)  # distinct examinees per item
        self.free_b = self.counts > 0
        self.free_a = (learners >= rasch_below) & self.free_b
        self.model = np.where(self.free_a, TWO_PL, np.where(self.free_b, RASCH, PRIOR))
        self.n_levels = len(LEVEL_MEAN)
        self.evaluations = 0

    def pack(self, log_a: np.ndarray, b: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.r_[log_a[self.free_a], b[self.free_b], m]

    def unpack(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k, j = int(self.free_a.sum()), int(self.free_b.sum())
        m = x[k + j :]
        log_a = np.zeros(self.data.n_items)
        log_a[self.free_a] = x[:k]
        b = m[self.level].copy()  # an unanswered item sits at its level's mean
        b[self.free_b] = x[k : k + j]
        return log_a, b, m

    def expected_counts(self, log_a, b) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """P at each item and node, the expected examinees (n) and right answers (r) at each
        item and node under the persons' posteriors, and the marginal log-likelihood."""
        z = np.exp(log_a)[:, None] * (_NODES[None, :] - b[:, None])
        p = expit(z)
        per_person = self.right @ log_expit(z) + self.wrong @ log_expit(-z) + _LOG_WEIGHTS[None, :]
        top = per_person.max(axis=1, keepdims=True)
        w = np.exp(per_person - top)
        total = w.sum(axis=1, keepdims=True)
        marginal = float((np.log(total) + top).sum())
        post = w / total
        return p, self.seen_t @ post, self.right_t @ post, marginal

    def log_prior(self, log_a, b, m) -> float:
        free = self.free_b
        lb = -0.5 * ((b[free] - m[self.level[free]]) / self.b_sd[free]) ** 2
        la = -0.5 * (log_a[self.free_a] / LOG_A_SD) ** 2
        lm = -0.5 * ((m - LEVEL_MEAN) / LEVEL_SD) ** 2
        return float(lb.sum() + la.sum() + lm.sum())

    def objective(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log posterior and its gradient (Fisher's identity: the gradient of the
        marginal likelihood is the expected complete-data gradient under the posterior)."""
        self.evaluations += 1
        log_a, b, m = self.unpack(x)
        p, n, r, marginal = self.expected_counts(log_a, b)
        a = np.exp(log_a)[:, None]
        res = r - n * p
        pull = (b - m[self.level]) / self.b_sd**2
        g_la = (a * res * (_NODES[None, :] - b[:, None])).sum(1) - log_a / LOG_A_SD**2
        g_b = -(a * res).sum(1) - pull
        g_m = (
            np.bincount(self.level[self.free_b], weights=pull[self.free_b], minlength=self.n_levels)
            - (m - LEVEL_MEAN) / LEVEL_SD**2
        )
        value = marginal + self.log_prior(log_a, b, m)
        return -value, -self.pack(g_la, g_b, g_m)

    def level_means(self, b) -> np.ndarray:
        """The level means that maximise the prior given the items' difficulties."""
        free = self.free_b
        w = 1.0 / self.b_sd[free] ** 2
        num = np.bincount(self.level[free], weights=w * b[free], minlength=self.n_levels)
        den = np.bincount(self.level[free], weights=w, minlength=self.n_levels)
        prior_w = 1.0 / LEVEL_SD**2
        return (num + prior_w * LEVEL_MEAN) / (den + prior_w)

    def em_step(self, log_a, b, m, newton_steps: int = 2):
        """One Bock-Aitkin cycle: expected counts per item and node, Newton steps on each
        item's expected complete-data log posterior, then the level means."""
        _, n, r, marginal = self.expected_counts(log_a, b)
        value = marginal + self.log_prior(log_a, b, m)
        la, bb = log_a.copy(), b.copy()
        x = _NODES[None, :]
        centre = m[self.level]
        for _ in range(newton_steps):
            a = np.exp(la)[:, None]
            dev = x - bb[:, None]
            p = expit(a * dev)
            res = r - n * p
            w = n * p * (1.0 - p)
            # Gradient and Hessian in (log a, b), priors included.
            g_la = (a * res * dev).sum(1) - la / LOG_A_SD**2
            g_b = -(a * res).sum(1) - (bb - centre) / self.b_sd**2
            h_aa = -(a**2 * w * dev**2).sum(1) + (a * res * dev).sum(1) - 1 / LOG_A_SD**2
            h_bb = -(a**2 * w).sum(1) - 1 / self.b_sd**2
            h_ab = (a**2 * w * dev).sum(1) - (a * res).sum(1)
            h_aa = np.where(self.free_a, h_aa, -1.0)
            h_ab = np.where(self.free_a, h_ab, 0.0)
            g_la = np.where(self.free_a, g_la, 0.0)
            det = h_aa * h_bb - h_ab**2
            # Where the Hessian is not negative definite, take a short gradient step instead.
            ok = (h_aa < 0) & (det > 0)
            safe = np.where(ok, det, 1.0)
            step_la = np.where(ok, (h_bb * g_la - h_ab * g_b) / safe, -g_la / 10)
            step_b = np.where(ok, (h_aa * g_b - h_ab * g_la) / safe, -g_b / 10)
            la = np.where(self.free_a, la - np.clip(step_la, -0.5, 0.5), 0.0)
            bb = np.where(self.free_b, bb - np.clip(step_b, -1.0, 1.0), centre)
        m = self.level_means(bb)
        bb = np.where(self.free_b, bb, m[self.level])
        return la, bb, m, value

    def fit(self, x, iterations, seconds, converged) -> Fit:
        log_a, b, m = self.unpack(x)
        value, _ = self.objective(x)
        return Fit(
            a=np.exp(log_a),
            b=b,
            model=self.model,
            answers=self.counts,
            level_means=m,
            log_posterior=-float(value),
            iterations=iterations,
            evaluations=self.evaluations,
            seconds=seconds,
            converged=converged,
        )


def _prior_fit(problem: _Problem) -> Fit:
    n = problem.data.n_items
    return Fit(
        a=np.ones(n),
        b=LEVEL_MEAN[problem.level],
        model=problem.model,
        answers=problem.counts,
        level_means=LEVEL_MEAN.copy(),
        log_posterior=0.0,
        iterations=0,
        evaluations=0,
        seconds=0.0,
        converged=True,
    )


def calibrate(
    data: Answers,
    level: np.ndarray,
    *,
    rasch_below: int = RASCH_BELOW,
    em_cycles: int = 10,
    tolerance: float = 1e-6,
) -> Fit:
    """Item parameters with the largest marginal posterior: EM cycles, then L-BFGS-B."""
    started = time.perf_counter()
    problem = _Problem(data, level, rasch_below)
    if not problem.free_b.any():
        return _prior_fit(problem)
    m = LEVEL_MEAN.copy()
    log_a, b = np.zeros(data.n_items), m[problem.level]
    previous = -np.inf
    cycles = 0
    while cycles < em_cycles:
        cycles += 1
        log_a, b, m, value = problem.em_step(log_a, b, m)
        if value - previous < 1e-7 * abs(value):
            break
        previous = value
    from scipy import optimize

    result = optimize.minimize(
        problem.objective,
        problem.pack(log_a, b, m),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 1000, "ftol": tolerance * 1e-3, "gtol": tolerance},
    )
    return problem.fit(
        result.x, cycles + result.nit, time.perf_counter() - started, bool(result.success)
    )


def calibrate_scipy_only(
    data: Answers, level: np.ndarray, *, rasch_below: int = RASCH_BELOW, tolerance: float = 1e-6
) -> Fit:
    """The same fit by scipy's L-BFGS-B alone, from the day-one values (the bench's
    baseline)."""
    started = time.perf_counter()
    problem = _Problem(data, level, rasch_below)
    if not problem.free_b.any():
        return _prior_fit(problem)
    m = LEVEL_MEAN.copy()
    from scipy import optimize

    result = optimize.minimize(
        problem.objective,
        problem.pack(np.zeros(data.n_items), m[problem.level], m),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 5000, "ftol": tolerance * 1e-3, "gtol": tolerance},
    )
    return problem.fit(result.x, result.nit, time.perf_counter() - started, bool(result.success))


# --- ability --------------------------------------------------------------------------------


def prior_covariance(dimensions: int, rho: float = RHO) -> np.ndarray:
    """Domains' abilities within a track: unit variances, correlation rho."""
    return (1.0 - rho) * np.eye(dimensions) + rho * np.ones((dimensions, dimensions))


@dataclass(frozen=True)
class Posterior:
    """A learner's abilities in D domains: the mode and the covariance of the normal
    approximation."""

    mean: np.ndarray
    cov: np.ndarray

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def interval(self, z: float = Z90) -> tuple[np.ndarray, np.ndarray]:
        return self.mean - z * self.sd, self.mean + z * self.sd


def posterior(
    domain: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    score: np.ndarray,
    dimensions: int,
    *,
    prior_cov: np.ndarray | None = None,
    iterations: int = 30,
) -> Posterior:
    """The posterior of one learner's domain abilities from answers to items of known
    parameters (`domain` gives each answer's domain, 0..dimensions-1)."""
    cov0 = prior_cov if prior_cov is not None else prior_covariance(dimensions)
    precision0 = np.linalg.inv(cov0)
    domain = np.asarray(domain, np.int64)
    a, b, y = np.asarray(a, float), np.asarray(b, float), np.asarray(score, float)
    theta = np.zeros(dimensions)
    hessian = -precision0
    for _ in range(iterations):
        p = expit(a * (theta[domain] - b))
        grad = np.bincount(domain, weights=a * (y - p), minlength=dimensions) - precision0 @ theta
        info = np.bincount(domain, weights=a * a * p * (1 - p), minlength=dimensions)
        hessian = -precision0 - np.diag(info)
        step = np.linalg.solve(hessian, grad)
        step = np.clip(step, -1.0, 1.0)
        theta = theta - step
        if np.abs(step).max() < 1e-8:
            break
    p = expit(a * (theta[domain] - b))
    info = np.bincount(domain, weights=a * a * p * (1 - p), minlength=dimensions)
    cov = np.linalg.inv(precision0 + np.diag(info))
    return Posterior(theta, cov)


# --- one ability on a grid (the placement test) ---------------------------------------------

GRID = np.linspace(-5.0, 5.0, 201)


def grid_posterior(a, b, score, prior_mean: float = 0.0, prior_sd: float = 1.0) -> np.ndarray:
    """The posterior of one ability over GRID (normalised weights) after the answers."""
    a, b, y = np.asarray(a, float), np.asarray(b, float), np.asarray(score, float)
    log_post = -0.5 * ((GRID - prior_mean) / prior_sd) ** 2
    if len(a):
        z = a[:, None] * (GRID[None, :] - b[:, None])
        log_post = log_post + (y[:, None] * z + log_expit(-z)).sum(axis=0)
    w = np.exp(log_post - log_post.max())
    return w / w.sum()


def eap(weights: np.ndarray) -> tuple[float, float]:
    """Expected a posteriori ability and its posterior standard deviation."""
    mean = float((weights * GRID).sum())
    return mean, float(np.sqrt(max(0.0, (weights * (GRID - mean) ** 2).sum())))
