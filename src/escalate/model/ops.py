"""PyTensor Ops wrapping the compiled likelihood kernels, native in the numba backend.

All parameters travel as one flat vector ``theta`` (layout from
:func:`escalate.model.parameters.theta_layout`), so an
Op has two outputs: the log-likelihood and its gradient with respect to ``theta``. The Op's
``pullback`` returns the node's own second output (one kernel call per logp+gradient
evaluation). The numba registration makes nutpie and pm.sample call the kernel
directly instead of falling back to object mode.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytensor.tensor as pt
from numba import njit
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from escalate.model import kernels, parameters
from escalate.model.kernels import (
    NEGATIVE_BINOMIAL,
    POISSON,
    daily_loglik_grad,
    exact_loglik_grad,
)
from escalate.model.likelihood import check_kernel_order
from escalate.model.parameters import Dims, theta_layout


def _make_kernel(resolution: str, K: int, J: int, P: int, C: int, observation: str,
                 daily_likelihood: str = "no_same_day"):
    """An njit function (data..., theta) -> (logp 0-d, grad like theta) for fixed dimensions."""
    check_kernel_order(observation)
    layout = {name: (start, stop) for name, start, stop, _ in theta_layout(Dims(K, J, P, C), observation)}
    # offsets of the flat layout, captured as compile-time constants
    o_mu, o_te = layout["mu_log"][0], layout["truce_effect"][0]
    o_mv, o_mt = layout["mu_verification"][0], layout["mu_tier"][0]
    o_mc, o_br = layout["mu_covariate"][0], layout["branching"][0]
    o_es, o_ec = layout["excite_verification_self"][0], layout["excite_verification_cross"][0]
    o_et, o_dc = layout["excite_tier"][0], layout["decay"][0]
    n = o_dc + 1 + K * (observation == "negative_binomial")  # one dispersion per stream
    negative_binomial = observation == "negative_binomial"

    @njit(error_model="numpy")
    def pack(out):
        grad = np.empty(n)
        grad[o_mu:o_te] = out[1]
        grad[o_te:o_mv] = out[2].ravel()
        grad[o_mv] = out[3]
        grad[o_mt:o_mc] = out[4]
        grad[o_mc:o_br] = out[5]
        grad[o_br:o_es] = out[6].ravel()
        grad[o_es] = out[7]
        grad[o_ec] = out[8]
        grad[o_et:o_dc] = out[9]
        grad[o_dc] = out[10]
        return grad

    # not cached by numba itself (its cache ignores edits to the callee's file); PyTensor caches
    # the compiled graph under a key salted with KERNEL_VERSION
    if resolution == "exact":
        @njit(error_model="numpy")
        def kernel(times, streams, segment, offsets, durations, s_truce, s_start, s_end, s_v, s_tier, s_x, theta):
            out = exact_loglik_grad(
                times, streams, segment, offsets, durations, s_truce, s_start, s_end, s_v, s_tier, s_x,
                theta[o_mu:o_te], theta[o_te:o_mv].reshape((J, K)), theta[o_mv], theta[o_mt:o_mc],
                theta[o_mc:o_br], theta[o_br:o_es].reshape((K, K)), theta[o_es], theta[o_ec],
                theta[o_et:o_dc], theta[o_dc])
            return np.asarray(out[0]), pack(out)
        return kernel

    code = NEGATIVE_BINOMIAL if negative_binomial else POISSON
    cascade = 1 if daily_likelihood == "cascade" else 0

    @njit(error_model="numpy")
    def daily_kernel(counts, day_segment, day_offsets, span, s_truce, s_v, s_tier, s_x, theta):
        dispersion = theta[o_dc + 1:n] if negative_binomial else np.ones(K)
        out = daily_loglik_grad(
            counts, day_segment, day_offsets, span, s_truce, s_v, s_tier, s_x,
            theta[o_mu:o_te], theta[o_te:o_mv].reshape((J, K)), theta[o_mv], theta[o_mt:o_mc],
            theta[o_mc:o_br], theta[o_br:o_es].reshape((K, K)), theta[o_es], theta[o_ec],
            theta[o_et:o_dc], theta[o_dc], code, dispersion, cascade)
        grad = pack(out)
        if negative_binomial:
            grad[o_dc + 1:n] = out[11]
        return np.asarray(out[0]), grad

    return daily_kernel


class HawkesLogLike(Op):
    """log L of the Hawkes model and d log L / d theta, for either likelihood.

    ``resolution="exact"`` (MODEL.md 3a): inputs are the 11 arrays of
    :func:`escalate.model.likelihood.kernel_data`, then ``theta``. ``resolution="day"`` (3b): the 8
    arrays of :func:`escalate.model.likelihood.daily_kernel_data`, then ``theta``.
    Outputs: ``logp`` (scalar), ``grad`` (vector like ``theta``).
    """

    __props__ = ("resolution", "K", "J", "P", "C", "observation", "daily_likelihood")

    def __init__(self, resolution: str, K: int, J: int, P: int, C: int, observation: str = "poisson",
                 daily_likelihood: str = "no_same_day"):
        self.resolution, self.K, self.J, self.P, self.C = resolution, K, J, P, C
        self.observation, self.daily_likelihood = observation, daily_likelihood
        self._kernel = _make_kernel(resolution, K, J, P, C, observation, daily_likelihood)

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(x) for x in inputs]
        return Apply(self, inputs, [pt.dscalar(), pt.dvector()])

    def perform(self, node, inputs, outputs):
        logp, grad = self._kernel(*inputs)
        outputs[0][0] = np.asarray(logp, dtype=np.float64)
        outputs[1][0] = grad

    def pullback(self, inputs, outputs, cotangents):
        # d logp / d theta is this node's own second output: no second kernel call
        return [*(disconnected_type() for _ in inputs[:-1]), cotangents[0] * outputs[1]]

    def connection_pattern(self, node):
        # only theta is differentiable; the data inputs are constants
        return [[False, False]] * (len(node.inputs) - 1) + [[True, True]]


def _kernel_source_version() -> int:
    """A salt for PyTensor's numba cache key: changes whenever the kernel sources change.

    PyTensor caches compiled graphs keyed by the Op's props; without this salt an edited
    kernel would silently keep running its stale compiled version.
    """
    digest = hashlib.sha256()
    for path in (Path(kernels.__file__), Path(parameters.__file__), Path(__file__)):
        digest.update(path.read_bytes())
    return int(digest.hexdigest()[:12], 16)


KERNEL_VERSION = _kernel_source_version()


@register_funcify_default_op_cache_key(HawkesLogLike)
def _numba_funcify_hawkes(op, node=None, **kwargs):
    return op._kernel, KERNEL_VERSION


def hawkes_loglike(resolution: str, data_arrays, theta, dims: Dims, observation: str = "poisson",
                   daily_likelihood: str = "no_same_day"):
    """The symbolic log-likelihood at flat parameters ``theta`` (layout
    :func:`escalate.model.parameters.theta_layout`)."""
    constants = [pt.constant(np.ascontiguousarray(a)) for a in data_arrays]
    logp, _ = HawkesLogLike(resolution, dims.K, dims.J, dims.P, dims.C, observation,
                            daily_likelihood)(*constants, theta)
    return logp
