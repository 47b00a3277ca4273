"""The one place that decides whether a layer runs on the project's CPU kernels."""

from ...ops import cpu_kernels_enabled

__all__ = ['CpuKernelMixin']


class CpuKernelMixin:
    """For layers with a CPU-kernel form (``shmatting.ops``) and a MindSpore-operator form.

    A layer sets ``cpu_kernel_kind`` (one of ``shmatting.ops.KERNEL_KINDS``), implements
    :meth:`build_cpu_kernel` (create its ``ops.Custom`` operators) and, if some of its settings
    have no kernel, :meth:`cpu_kernel_supported`; it calls ``self.set_cpu_kernel(True)`` at the end
    of ``__init__`` and branches on ``self.use_cpu_kernel`` in ``construct``. The kernels are used
    on the CPU target when ``SHMATTING_CPU_KERNELS`` allows and the library builds
    (:func:`shmatting.ops.cpu_kernels_enabled`); exports switch them off with
    :func:`shmatting.ops.set_cpu_kernels`.
    """

    cpu_kernel_kind = ''

    def cpu_kernel_supported(self) -> bool:
        """bool: whether this layer's settings have a kernel (default: always)."""
        return True

    def build_cpu_kernel(self) -> None:
        """Create the layer's kernel operators (called once, when first enabled)."""
        raise TypeError(f'{type(self).__name__} must define build_cpu_kernel()')

    def set_cpu_kernel(self, enabled: bool) -> None:
        """Use the CPU kernel (when available) or MindSpore's operators; call before the first
        forward (a compiled graph keeps the choice it was compiled with).

        Args:
            enabled (bool): prefer the kernel.
        """
        self.use_cpu_kernel = (
            bool(enabled)
            and self.cpu_kernel_supported()
            and cpu_kernels_enabled(self.cpu_kernel_kind)
        )
        if self.use_cpu_kernel and not getattr(self, 'cpu_kernel_built', False):
            self.build_cpu_kernel()
            self.cpu_kernel_built = True
