"""Every stable error `code` FactoryOS answers: problem+json bodies, CLI messages, row errors.

A code is public API: clients and scripts branch on it, so it is never renamed, reused or
removed. Raising a new one means adding it here and to the snapshot in
tests/foundation/error_codes.snapshot.txt; tests/foundation/test_error_codes.py reads the
source and fails on a code missing here, on one here that nothing answers any more, and on a
change to the snapshot. Codes are grouped by the package that first raises them.
"""

from __future__ import annotations

CODES: frozenset[str] = frozenset({
    # factoryos
    "config_error", "conflict", "database_unavailable", "error", "not_found", "null_not_allowed",
    "permission_denied", "rate_limited", "unauthorized", "validation_failed",
    # factoryos/audit
    "company_not_found", "invalid_cursor",
    # factoryos/backup
    "backup_checksum_mismatch", "backup_dir_unwritable", "backup_disk_full", "backup_failed",
    "backup_in_progress", "backup_invalid", "backup_label_invalid", "backup_manifest_invalid",
    "backup_manifest_missing", "backup_missing", "backup_needs_superuser", "backup_not_found",
    "backup_size_mismatch", "backup_source_unavailable", "backup_tool_missing", "backup_unreadable",
    "backup_write_failed", "backups_unavailable", "restore_failed", "restore_in_progress",
    "restore_verify_failed", "pitr_outside_window", "pitr_time_invalid", "wal_segment_corrupt",
    "wal_segment_missing",
    # factoryos/backup standby
    "standby_clone_failed", "standby_failed", "standby_not_replica", "standby_promote_failed",
    "standby_other_installation", "standby_superseded", "standby_target_not_empty",
    # factoryos/catalog
    "catalog_duplicate", "catalog_entry_in_use", "catalog_entry_not_found", "catalog_not_author",
    # factoryos/connectivity
    "connection_not_found", "connection_secret_unreadable", "connectivity_error", "endpoint_unavailable",
    "invalid_machine_config", "invalid_node_id", "edge_busy", "edge_name_taken", "edge_not_found", "edge_revoked", "edge_unauthorized", "mqtt_authentication_failed", "mqtt_certificate_invalid", "mqtt_no_data",
    "opcua_authentication_failed", "opcua_certificate_invalid",
    "opcua_certificate_rejected", "poller_busy", "signal_read_failed",
    # factoryos/db
    "embedded_db_error", "embedded_db_locked", "unsafe_database_role",
    # factoryos/demo
    "demo_setup_failed",
    # factoryos/identity
    "account_disabled", "account_locked", "already_member", "cannot_remove_self", "company_name_taken",
    "company_required", "deny_exceeds_own", "display_name_too_long", "display_name_too_short", "email_taken",
    "grant_deny_overlap", "grant_exceeds_own", "invalid_company_size", "invalid_credentials",
    "invalid_currency", "invalid_email", "invalid_refresh_token", "invalid_role", "invalid_timezone",
    "invalid_token", "invalid_totp", "invite_expired", "invite_not_found", "invite_revoked", "invite_used",
    "last_admin", "member_not_found", "membership_revoked", "mfa_already_enabled", "mfa_not_enabled",
    "mfa_not_enrolling", "mfa_required", "missing_token", "owner_exists", "owner_immutable", "refresh_reused",
    "required", "role_exceeds_own", "self_grant_forbidden", "session_expired", "session_revoked",
    "target_outranks_you", "token_expired", "unknown_permission", "user_not_found", "weak_password",
    # factoryos/identity (site scope)
    "cannot_scope_self", "site_scope_exceeds_own", "machine_scope_exceeds_own",
    # factoryos/jobs
    "duplicate_in_file", "empty_file", "file_too_large", "import_has_errors", "invalid_base64", "invalid_csv",
    "invalid_xlsx", "job_exists", "job_not_found", "machine_other_site", "machine_retired", "missing_columns",
    "not_text", "nothing_to_import", "too_many_rows", "unknown_machine", "unknown_site",
    "unsupported_encoding", "unsupported_format",
    # factoryos/kpi
    "invalid_break", "invalid_count", "invalid_cycle_time", "invalid_downtime", "invalid_input",
    "invalid_interval", "invalid_policy", "invalid_shift", "invalid_state", "naive_datetime",
    "shift_not_scheduled",
    # factoryos/licensing
    "license_edition", "license_expired", "license_feature", "license_invalid", "license_key_invalid", "license_limit",
    "license_malformed", "license_signature_invalid", "license_store_failed", "license_unreadable",
    "license_wrong_host",
    # factoryos/integrations
    "webhook_delivery_not_failed", "webhook_delivery_not_found", "webhook_limit", "webhook_not_found",
    "webhook_secret_unreadable", "webhook_url_invalid",
    "mqtt_publish_not_configured", "mqtt_publish_secret_unreadable",
    # factoryos/maintenance
    "asset_already_mounted", "asset_code_taken", "asset_machine_name", "asset_movable_parent",
    "asset_not_found", "asset_not_mounted", "asset_not_movable", "asset_required", "asset_retired",
    "assignee_not_member", "calendar_conflict", "confirmation_required", "count_below_current",
    "downtime_already_linked", "downtime_not_found", "downtime_other_machine", "downtime_required",
    "interval_not_positive", "interval_too_long", "invalid_weekday", "last_done_in_future",
    "maintenance_plan_not_found", "mount_time_invalid",
    "plan_needs_trigger", "scheduled_for_required", "work_order_already_started", "work_order_closed",
    "work_order_not_approved", "work_order_not_found", "work_order_signature_required",
    "work_order_wrong_status",
    # factoryos/materials
    "bom_cycle", "bom_line_duplicate", "bom_missing", "bom_not_draft", "bom_not_found", "insufficient_stock",
    "item_gtin_taken", "item_not_found", "item_number_taken", "item_product_taken", "location_ambiguous", "location_code_taken",
    "location_machine_invalid", "location_machine_taken", "location_not_found", "location_parent_invalid",
    "location_parent_required", "location_required", "location_same", "location_unexpected", "lot_ambiguous",
    "lot_blocked", "lot_expired", "lot_expiry_not_kept", "lot_not_found", "lot_not_on_bom",
    "lot_not_serialized", "lot_number_taken", "lot_pattern_invalid", "lot_quarantine", "lot_required",
    "lot_status_invalid", "lot_wrong_item", "operation_not_run", "operation_unexpected",
    "output_nothing_made", "quantity_invalid", "reason_required", "scan_empty", "scan_no_lot",
    "scan_unknown_ai", "scan_unreadable", "serial_duplicate", "serial_taken",
    "unit_duplicate", "unit_unknown",
    # factoryos/nonconformances
    "inspection_in_spec", "machine_scrap_not_found", "nonconformance_closed", "nonconformance_not_dispositioned", "nonconformance_not_found",
    "capa_action_done", "capa_action_not_found", "capa_closed", "capa_not_found", "capa_step_incomplete",
    "capa_step_order",
    # factoryos/signatures
    "signature_invalid", "signature_same_person", "signature_totp_required",
    "signature_reauth_invalid", "signature_reauth_pending", "signature_reauth_required",
    # factoryos/onboarding
    "cannot_skip_complete", "unknown_step",
    # factoryos/orders
    "invalid_transition", "order_closed", "order_has_production", "order_running", "product_obsolete", "quantity_below_produced", "unknown_product",
    "product_not_found", "routing_without_machine",
    "duplicate_resource", "duplicate_seq", "invalid_name", "invalid_parts_per_cycle", "invalid_resource",
    "invalid_seq", "invalid_setup_time", "operation_mismatch", "product_in_use", "product_number_taken",
    "too_many_operations", "too_many_resources", "unknown_line",
    "machine_not_allowed", "no_operation_running", "no_operation_to_start", "operation_busy", "operation_closed",
    "operation_not_found", "operation_not_released", "operation_required", "operation_running", "order_not_found",
    "queue_mismatch", "setup_already_done",
    # factoryos/plant
    "area_code_taken", "area_in_use", "area_not_found", "line_code_taken", "line_in_use", "line_not_found",
    "line_other_site", "machine_code_taken", "machine_in_use", "machine_not_found", "not_a_member",
    "not_a_site_operator", "operator_exists", "operator_not_found", "site_code_taken", "site_in_use",
    "site_not_found",
    # factoryos/production
    "anomaly_already_decided", "anomaly_not_found", "anomaly_too_large", "downtime_event_not_found",
    "downtime_overlap", "downtime_overlaps_machine_stop", "entry_in_future", "entry_outside_shift",
    "entry_overlap", "entry_overlaps_machine_counts", "invalid_key", "invalid_period", "invalid_range",
    "invalid_signal", "machine_already_planned", "machine_event_times", "no_running_shift",
    "operator_required", "period_required", "plan_not_found", "planned_mismatch", "planned_required",
    "production_entry_not_found", "quantity_exceeds_ideal_rate", "range_too_long", "reason_code_taken",
    "reason_inactive", "reason_not_found", "reason_tags_required", "reason_too_deep", "reason_wrong_bucket",
    "rejection_not_found", "rejection_outside_shift", "shift_in_use", "shift_instance_not_found",
    "shift_name_taken", "shift_not_found", "shift_other_site", "shift_ref_incomplete", "shift_required",
    "starts_in_future",
    # factoryos/quality
    "characteristic_not_found", "characteristic_not_in_plan", "duplicate_characteristic",
    "inspection_not_found", "inspection_plan_not_found", "inspection_plan_version_not_found",
    "inspection_role_not_allowed", "invalid_defect", "invalid_defects", "invalid_limits",
    "invalid_physical_limits", "invalid_sample_size", "limits_required", "passed_required",
    "plan_draft_exists", "plan_not_released", "plan_other_machine", "plan_released", "plan_scope_required",
    "result_missing", "sample_size_mismatch", "value_outside_physical_limits", "values_required",
    # factoryos/sso (providers, LDAP, mapping)
    "mfa_setup_required", "sso_account_disabled", "sso_config_invalid", "sso_directory_error",
    "sso_directory_unavailable", "sso_domain_invalid", "sso_domain_taken", "sso_email_domain",
    "sso_email_in_use", "sso_email_invalid",
    "sso_kind_unsupported", "sso_local_account_only", "sso_no_role", "sso_owner_needs_mfa",
    "sso_provider_disabled", "sso_provider_name_taken", "sso_provider_not_found", "sso_required",
    "sso_secret_unreadable",
    # factoryos/sso (OpenID Connect)
    "sso_access_denied", "sso_code_rejected", "sso_device_code_used", "sso_device_expired",
    "sso_device_unsupported", "sso_flow_expired", "sso_flow_invalid", "sso_no_provider", "sso_nonce_mismatch",
    "sso_provider_error", "sso_provider_unreachable", "sso_state_mismatch", "sso_token_expired",
    "sso_token_invalid", "sso_wrong_audience", "sso_wrong_issuer",
    # factoryos/sso (SCIM 2.0)
    "scim_email_domain", "scim_invalid_filter", "scim_invalid_path", "scim_invalid_syntax", "scim_invalid_value",
    "scim_local_account_only", "scim_member_unknown", "scim_no_target", "scim_not_found", "scim_owner_protected",
    "scim_provider_required", "scim_unauthorized", "scim_uniqueness", "scim_user_name_immutable",
    "scim_user_name_invalid", "sso_account_deactivated",
    # factoryos/sso (SAML 2.0)
    "saml_assertion_expired", "saml_assertion_replayed", "saml_idp_certificate_expired", "saml_metadata_invalid",
    "saml_response_invalid", "saml_signature_invalid", "saml_wrong_audience", "saml_wrong_issuer",
    "saml_wrong_request",
    # factoryos/reports
    "invalid_datetime", "period_ambiguous", "period_in_future", "report_font_missing",
    "report_format_unsupported", "report_invalid", "scope_required", "shift_needs_date",
    "note_empty", "shift_not_ended",
    # cli
    "project_missing", "restart_failed",
    # installer
    "admin_failed", "admin_required", "backup_copy_missing", "backup_copy_same", "base_image_missing",
    "bind_invalid", "bind_not_local", "bundle_checksum", "bundle_image_ids", "bundle_image_mismatch",
    "bundle_incomplete", "bundle_invalid", "bundle_manifest_invalid", "bundle_missing", "bundle_required",
    "bundle_signature_invalid", "bundle_truncated", "bundle_unexpected", "bundle_unpack_failed",
    "bundle_unsigned", "compose_down_failed", "engine_unreachable", "health_timeout", "image_build_failed",
    "image_load_failed", "image_missing", "image_save_failed", "install_failed", "nginx_reload_failed",
    "not_installed", "nothing_to_roll_back", "path_unsafe", "sbom_failed", "services_unhealthy",
    "subnet_exhausted", "subnet_invalid", "system_check_failed", "template_invalid", "template_missing",
    "tls_cert_expired", "tls_cert_invalid", "tls_cert_not_yet_valid", "tls_key_invalid", "tls_key_mismatch",
    "tls_options", "upgrade_not_newer", "wheelhouse_failed", "wheelhouse_incomplete",
    # server
    "metrics_disabled",
    "body_too_large", "idempotency_key_reused", "idempotent_secret_not_kept", "internal_error", "invalid_idempotency_key", "invalid_json",
    "json_too_deep", "maintenance", "method_not_allowed", "migrations_behind", "nul_character",
    "restore_needs_one_worker", "restore_not_confirmed", "restore_not_found", "route_not_found",
})

# Codes no longer answered, kept so that none is ever reused with another meaning.
RETIRED: frozenset[str] = frozenset()

# Codes built at run time, one per value of the placeholder.
FAMILIES: dict[str, str] = {
    "http_{status}": "an HTTP error raised by the router itself for a status without a code of its own",
}
