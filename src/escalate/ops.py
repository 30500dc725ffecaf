"""PyTensor Ops wrapping the compiled likelihood kernels, native in the numba backend.

All parameters travel as one flat vector ``theta`` (layout from :func:`theta_layout`), so an
Op has two outputs: the log-likelihood and its gradient with respect to ``theta``. The Op's
``pullback`` returns the node's own second output (one kernel call per logp+gradient
evaluation). The numba registration makes nutpie and pm.sample call the kernel
directly instead of falling back to object mode.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from numba import njit
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from escalate.kernels.exact import exact_loglik_grad
from escalate.params import KERNEL_ORDER, parameter_shapes


def theta_layout(K: int, J: int, P: int, C: int) -> list[tuple[str, int, int, tuple[int, ...]]]:
    """``(name, start, stop, shape)`` of every parameter in the flat vector, kernel order."""
    out, pos = [], 0
    shapes = parameter_shapes(K, J, P, C)
    for name in KERNEL_ORDER:
        shape = shapes[name]
        size = int(np.prod(shape)) if shape else 1
        out.append((name, pos, pos + size, shape))
        pos += size
    return out


def _make_exact_kernel(K: int, J: int, P: int, C: int):
    """An njit function (data..., theta) -> (logp 0-d, grad[n]) for fixed dimensions."""
    n_tier = P - 1
    # offsets of the flat layout, captured as compile-time constants
    o_mu = 0
    o_te = o_mu + K
    o_mv = o_te + J * K
    o_mt = o_mv + 1
    o_mc = o_mt + n_tier
    o_br = o_mc + C
    o_es = o_br + K * K
    o_ec = o_es + 1
    o_et = o_ec + 1
    o_dc = o_et + n_tier
    n = o_dc + 1

    # not cached by numba itself (its cache ignores edits to the callee's file); PyTensor caches
    # the compiled graph under a key salted with KERNEL_VERSION
    @njit(error_model="numpy")
    def kernel(times, streams, segment, offsets, durations, s_truce, s_start, s_end, s_v, s_tier, s_x, theta):
        out = exact_loglik_grad(
            times, streams, segment, offsets, durations, s_truce, s_start, s_end, s_v, s_tier, s_x,
            theta[o_mu:o_te], theta[o_te:o_mv].reshape((J, K)), theta[o_mv], theta[o_mt:o_mc],
            theta[o_mc:o_br], theta[o_br:o_es].reshape((K, K)), theta[o_es], theta[o_ec],
            theta[o_et:o_dc], theta[o_dc])
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
        return np.asarray(out[0]), grad

    return kernel


class ExactHawkesLogLike(Op):
    """log L of exact event times (MODEL.md 3a) and d log L / d theta.

    Inputs: the 11 data arrays of :func:`escalate.likelihood.kernel_data`, then ``theta``.
    Outputs: ``logp`` (scalar), ``grad`` (vector like ``theta``).
    """

    __props__ = ("K", "J", "P", "C")

    def __init__(self, K: int, J: int, P: int, C: int):
        self.K, self.J, self.P, self.C = K, J, P, C
        self._kernel = _make_exact_kernel(K, J, P, C)

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
    import hashlib
    from pathlib import Path

    from escalate.kernels import exact

    digest = hashlib.sha256()
    for path in (Path(exact.__file__), Path(__file__)):
        digest.update(path.read_bytes())
    return int(digest.hexdigest()[:12], 16)


KERNEL_VERSION = _kernel_source_version()


@register_funcify_default_op_cache_key(ExactHawkesLogLike)
def _numba_funcify_exact(op, node=None, **kwargs):
    return op._kernel, KERNEL_VERSION


def exact_loglike(data_arrays, theta, K: int, J: int, P: int, C: int):
    """The symbolic log-likelihood of exact event times at flat parameters ``theta``."""
    constants = [pt.constant(np.ascontiguousarray(a)) for a in data_arrays]
    logp, _ = ExactHawkesLogLike(K, J, P, C)(*constants, theta)
    return logp
