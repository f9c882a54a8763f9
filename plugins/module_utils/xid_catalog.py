"""NVIDIA's Xid catalog: what each Xid is and the immediate action NVIDIA gives for it.

From NVIDIA's "Analyzing Xid Errors with the Xid Catalog" (docs.nvidia.com/deploy/xid-errors/
analyzing-xid-catalog.html), column "Resolution Bucket (Immediate Action)", and for Xid 154 the GPU
recovery actions of NVML (nvmlDeviceGpuRecoveryAction_t: None, GPU reset, node reboot, drain P2P, drain
and reset). Where the catalog names a workflow, the action is the one its guidance text asks for
(Xid 48 and 74: "A GPU reset or node reboot is needed to clear this error").
"""

from __future__ import annotations

# Actions that mean the GPU cannot be trusted until someone acts: the check FAILs.
ACTIONS_THAT_FAIL = frozenset({"reset_gpu", "reboot", "drain_and_reset", "drain_p2p", "contact_support",
                               "nvlink_workflow"})

# Xid: (description, immediate action). Actions: restart_app (the application's fault or its victim),
# ignore (informational, follows another Xid), reset_gpu, reboot (the catalog's RESTART_BM),
# contact_support, nvlink_workflow, recovery_action (Xid 154: the action its line names).
CATALOG: dict[int, tuple[str, str]] = {
    13: ("Graphics Engine Exception", "restart_app"),
    31: ("GPU memory page fault", "restart_app"),
    32: ("Invalid or corrupted push buffer stream", "restart_app"),
    43: ("GPU stopped processing", "ignore"),
    45: ("Preemptive cleanup, due to previous errors", "ignore"),
    48: ("Double Bit ECC Error", "reset_gpu"),
    61: ("Internal micro-controller breakpoint/warning (PMU breakpoint)", "contact_support"),
    62: ("Internal micro-controller halt", "reset_gpu"),
    63: ("GPU memory remapping event", "ignore"),
    64: ("GPU memory remapping failure", "reset_gpu"),
    68: ("NVDEC0 Exception", "restart_app"),
    69: ("Graphics Engine class error", "restart_app"),
    74: ("NVLINK Error", "reset_gpu"),
    79: ("GPU has fallen off the bus", "reboot"),
    92: ("High single-bit ECC error rate", "ignore"),
    94: ("Contained memory error", "restart_app"),
    95: ("Uncontained memory error", "reset_gpu"),
    109: ("Context Switch Timeout Error", "reset_gpu"),
    119: ("GSP RPC Timeout", "reset_gpu"),
    120: ("GSP Error", "reset_gpu"),
    121: ("C2C Error", "ignore"),
    136: ("Link Training Failed", "reset_gpu"),
    140: ("ECC Unrecovered Error", "reset_gpu"),
    143: ("GPU Initialization Error", "reset_gpu"),
    144: ("NVLINK: SAW Error", "nvlink_workflow"),
    145: ("NVLINK: RLW Error", "nvlink_workflow"),
    146: ("NVLINK: TLW Error", "nvlink_workflow"),
    147: ("NVLINK: TREX Error", "nvlink_workflow"),
    148: ("NVLINK: NVLPW_CTRL Error", "nvlink_workflow"),
    149: ("NVLINK: NETIR Error", "nvlink_workflow"),
    150: ("NVLINK: MSE Error", "nvlink_workflow"),
    154: ("GPU Recovery Action Changed", "recovery_action"),
    155: ("NVLINK: SW Defined Error", "reset_gpu"),
}
# The names Xid 154 lines give the new recovery action ("... to 0x1 (GPU Reset Required)").
RECOVERY_ACTIONS = {"none": "none", "gpu reset required": "reset_gpu", "node reboot required": "reboot",
                    "drain p2p": "drain_p2p", "drain and reset": "drain_and_reset"}


def action_of(xid: int) -> str:
    """The immediate action the catalog gives; 'unknown' for a code it does not list."""
    return CATALOG.get(xid, ("", "unknown"))[1]


def describe(xid: int) -> str:
    return CATALOG.get(xid, ("not in the catalog this collection knows", ""))[0]


def recovery_action(name: str) -> str:
    """Xid 154's new recovery action, from the name in its line; an unknown name counts as a reset."""
    return RECOVERY_ACTIONS.get(name.strip().lower(), "reset_gpu")
