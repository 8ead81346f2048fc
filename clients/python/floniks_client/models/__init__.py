"""Contains all the data models used in inputs/outputs"""

from .approve_preview import ApprovePreview
from .approve_result import ApproveResult
from .archived_sibling import ArchivedSibling
from .artifact import Artifact
from .artifact_upload_request import ArtifactUploadRequest
from .auth_token_request import AuthTokenRequest
from .channel_enum import ChannelEnum
from .channel_request import ChannelRequest
from .check import Check
from .check_difference_images import CheckDifferenceImages
from .derive_request import DeriveRequest
from .draft import Draft
from .draft_based_on_type_0 import DraftBasedOnType0
from .draft_write_request import DraftWriteRequest
from .error import Error
from .error_item import ErrorItem
from .finalize_request import FinalizeRequest
from .gate import Gate
from .lifecycle_enum import LifecycleEnum
from .mode_enum import ModeEnum
from .model_snapshot import ModelSnapshot
from .model_snapshot_create_request import ModelSnapshotCreateRequest
from .model_snapshot_status_enum import ModelSnapshotStatusEnum
from .paginated_check_list import PaginatedCheckList
from .paginated_draft_list import PaginatedDraftList
from .paginated_model_snapshot_list import PaginatedModelSnapshotList
from .paginated_pointer_move_list import PaginatedPointerMoveList
from .paginated_record_summary_list import PaginatedRecordSummaryList
from .paginated_run_summary_list import PaginatedRunSummaryList
from .paginated_version_list import PaginatedVersionList
from .paginated_workflow_list import PaginatedWorkflowList
from .patched_draft_update_request import PatchedDraftUpdateRequest
from .patched_workflow_update_request import PatchedWorkflowUpdateRequest
from .pointer_enum import PointerEnum
from .pointer_move import PointerMove
from .problem import Problem
from .publish_bump_enum import PublishBumpEnum
from .publish_request import PublishRequest
from .reason_request import ReasonRequest
from .record import Record
from .record_drift_warnings_item import RecordDriftWarningsItem
from .record_summary import RecordSummary
from .records_compare_retrieve_response_200 import RecordsCompareRetrieveResponse200
from .reproduce_request import ReproduceRequest
from .run import Run
from .run_gate_type_0 import RunGateType0
from .run_outputs import RunOutputs
from .run_start_request import RunStartRequest
from .run_status_enum import RunStatusEnum
from .run_step import RunStep
from .run_step_outputs_item import RunStepOutputsItem
from .run_step_status_enum import RunStepStatusEnum
from .run_summary import RunSummary
from .run_summary_gate_type_0 import RunSummaryGateType0
from .run_summary_outputs import RunSummaryOutputs
from .runs_list_status import RunsListStatus
from .spawn_sibling_request import SpawnSiblingRequest
from .token_answer import TokenAnswer
from .tree_node import TreeNode
from .tree_node_children_item import TreeNodeChildrenItem
from .validation_result import ValidationResult
from .verdict_enum import VerdictEnum
from .version import Version
from .version_bump_enum import VersionBumpEnum
from .visibility_enum import VisibilityEnum
from .visibility_request import VisibilityRequest
from .workflow import Workflow
from .workflow_create_request import WorkflowCreateRequest
from .workflow_derived_from_type_0 import WorkflowDerivedFromType0
from .workflow_drift_warnings_item import WorkflowDriftWarningsItem
from .workflow_production_pin_type_0 import WorkflowProductionPinType0
from .workflows_list_lifecycle import WorkflowsListLifecycle

__all__ = (
    "ApprovePreview",
    "ApproveResult",
    "ArchivedSibling",
    "Artifact",
    "ArtifactUploadRequest",
    "AuthTokenRequest",
    "ChannelEnum",
    "ChannelRequest",
    "Check",
    "CheckDifferenceImages",
    "DeriveRequest",
    "Draft",
    "DraftBasedOnType0",
    "DraftWriteRequest",
    "Error",
    "ErrorItem",
    "FinalizeRequest",
    "Gate",
    "LifecycleEnum",
    "ModeEnum",
    "ModelSnapshot",
    "ModelSnapshotCreateRequest",
    "ModelSnapshotStatusEnum",
    "PaginatedCheckList",
    "PaginatedDraftList",
    "PaginatedModelSnapshotList",
    "PaginatedPointerMoveList",
    "PaginatedRecordSummaryList",
    "PaginatedRunSummaryList",
    "PaginatedVersionList",
    "PaginatedWorkflowList",
    "PatchedDraftUpdateRequest",
    "PatchedWorkflowUpdateRequest",
    "PointerEnum",
    "PointerMove",
    "Problem",
    "PublishBumpEnum",
    "PublishRequest",
    "ReasonRequest",
    "Record",
    "RecordDriftWarningsItem",
    "RecordsCompareRetrieveResponse200",
    "RecordSummary",
    "ReproduceRequest",
    "Run",
    "RunGateType0",
    "RunOutputs",
    "RunsListStatus",
    "RunStartRequest",
    "RunStatusEnum",
    "RunStep",
    "RunStepOutputsItem",
    "RunStepStatusEnum",
    "RunSummary",
    "RunSummaryGateType0",
    "RunSummaryOutputs",
    "SpawnSiblingRequest",
    "TokenAnswer",
    "TreeNode",
    "TreeNodeChildrenItem",
    "ValidationResult",
    "VerdictEnum",
    "Version",
    "VersionBumpEnum",
    "VisibilityEnum",
    "VisibilityRequest",
    "Workflow",
    "WorkflowCreateRequest",
    "WorkflowDerivedFromType0",
    "WorkflowDriftWarningsItem",
    "WorkflowProductionPinType0",
    "WorkflowsListLifecycle",
)
