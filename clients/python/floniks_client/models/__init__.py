"""Contains all the data models used in inputs/outputs"""

from .approve_preview import ApprovePreview
from .approve_result import ApproveResult
from .archived_sibling import ArchivedSibling
from .artifact import Artifact
from .artifact_upload_request import ArtifactUploadRequest
from .auth_token_request import AuthTokenRequest
from .batch import Batch
from .batch_run import BatchRun
from .batch_run_seeds import BatchRunSeeds
from .batch_start_request import BatchStartRequest
from .batch_summary import BatchSummary
from .bump_enum import BumpEnum
from .bundle_upload_request import BundleUploadRequest
from .catalogue_change import CatalogueChange
from .channel_enum import ChannelEnum
from .channel_request import ChannelRequest
from .check import Check
from .check_difference_images import CheckDifferenceImages
from .comfy_import_upload_request import ComfyImportUploadRequest
from .contact_sheet import ContactSheet
from .contact_sheet_cell import ContactSheetCell
from .contact_sheet_cell_outputs import ContactSheetCellOutputs
from .contact_sheet_start_request import ContactSheetStartRequest
from .derive_request import DeriveRequest
from .draft import Draft
from .draft_based_on_type_0 import DraftBasedOnType0
from .draft_write_request import DraftWriteRequest
from .error import Error
from .error_item import ErrorItem
from .evaluate_request import EvaluateRequest
from .evaluation import Evaluation
from .evaluation_outputs import EvaluationOutputs
from .evaluation_runs import EvaluationRuns
from .evidence_status_enum import EvidenceStatusEnum
from .finalize_request import FinalizeRequest
from .gate import Gate
from .lifecycle_enum import LifecycleEnum
from .mode_enum import ModeEnum
from .model_snapshot import ModelSnapshot
from .model_snapshot_create_request import ModelSnapshotCreateRequest
from .model_snapshot_status_enum import ModelSnapshotStatusEnum
from .op_enum import OpEnum
from .paginated_batch_summary_list import PaginatedBatchSummaryList
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
from .pinned_version import PinnedVersion
from .pointer_enum import PointerEnum
from .pointer_move import PointerMove
from .problem import Problem
from .promote_request import PromoteRequest
from .publish_bump_enum import PublishBumpEnum
from .publish_request import PublishRequest
from .reason_request import ReasonRequest
from .record import Record
from .record_drift_warnings_item import RecordDriftWarningsItem
from .record_imported_from_type_0 import RecordImportedFromType0
from .record_signed_outputs import RecordSignedOutputs
from .record_signed_outputs_additional_property import (
    RecordSignedOutputsAdditionalProperty,
)
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
from .snapshot_impact import SnapshotImpact
from .spawn_sibling_request import SpawnSiblingRequest
from .state_enum import StateEnum
from .token_answer import TokenAnswer
from .tree_node import TreeNode
from .tree_node_children_item import TreeNodeChildrenItem
from .validation_result import ValidationResult
from .verdict_enum import VerdictEnum
from .verification import Verification
from .verification_record_type_0 import VerificationRecordType0
from .verify_upload_request import VerifyUploadRequest
from .version import Version
from .version_change import VersionChange
from .version_diff import VersionDiff
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
    "Batch",
    "BatchRun",
    "BatchRunSeeds",
    "BatchStartRequest",
    "BatchSummary",
    "BumpEnum",
    "BundleUploadRequest",
    "CatalogueChange",
    "ChannelEnum",
    "ChannelRequest",
    "Check",
    "CheckDifferenceImages",
    "ComfyImportUploadRequest",
    "ContactSheet",
    "ContactSheetCell",
    "ContactSheetCellOutputs",
    "ContactSheetStartRequest",
    "DeriveRequest",
    "Draft",
    "DraftBasedOnType0",
    "DraftWriteRequest",
    "Error",
    "ErrorItem",
    "EvaluateRequest",
    "Evaluation",
    "EvaluationOutputs",
    "EvaluationRuns",
    "EvidenceStatusEnum",
    "FinalizeRequest",
    "Gate",
    "LifecycleEnum",
    "ModeEnum",
    "ModelSnapshot",
    "ModelSnapshotCreateRequest",
    "ModelSnapshotStatusEnum",
    "OpEnum",
    "PaginatedBatchSummaryList",
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
    "PinnedVersion",
    "PointerEnum",
    "PointerMove",
    "Problem",
    "PromoteRequest",
    "PublishBumpEnum",
    "PublishRequest",
    "ReasonRequest",
    "Record",
    "RecordDriftWarningsItem",
    "RecordImportedFromType0",
    "RecordsCompareRetrieveResponse200",
    "RecordSignedOutputs",
    "RecordSignedOutputsAdditionalProperty",
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
    "SnapshotImpact",
    "SpawnSiblingRequest",
    "StateEnum",
    "TokenAnswer",
    "TreeNode",
    "TreeNodeChildrenItem",
    "ValidationResult",
    "VerdictEnum",
    "Verification",
    "VerificationRecordType0",
    "VerifyUploadRequest",
    "Version",
    "VersionChange",
    "VersionDiff",
    "VisibilityEnum",
    "VisibilityRequest",
    "Workflow",
    "WorkflowCreateRequest",
    "WorkflowDerivedFromType0",
    "WorkflowDriftWarningsItem",
    "WorkflowProductionPinType0",
    "WorkflowsListLifecycle",
)
