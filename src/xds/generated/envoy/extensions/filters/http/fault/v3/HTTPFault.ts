// Original file: envoy-api/envoy/extensions/filters/http/fault/v3/fault.proto

import type { FaultDelay as _envoy_extensions_filters_common_fault_v3_FaultDelay, FaultDelay__Output as _envoy_extensions_filters_common_fault_v3_FaultDelay__Output } from '../../../../../../envoy/extensions/filters/common/fault/v3/FaultDelay.js';
import type { FaultAbort as _envoy_extensions_filters_http_fault_v3_FaultAbort, FaultAbort__Output as _envoy_extensions_filters_http_fault_v3_FaultAbort__Output } from '../../../../../../envoy/extensions/filters/http/fault/v3/FaultAbort.js';
import type { HeaderMatcher as _envoy_config_route_v3_HeaderMatcher, HeaderMatcher__Output as _envoy_config_route_v3_HeaderMatcher__Output } from '../../../../../../envoy/config/route/v3/HeaderMatcher.js';
import type { UInt32Value as _google_protobuf_UInt32Value, UInt32Value__Output as _google_protobuf_UInt32Value__Output } from '../../../../../../google/protobuf/UInt32Value.js';
import type { FaultRateLimit as _envoy_extensions_filters_common_fault_v3_FaultRateLimit, FaultRateLimit__Output as _envoy_extensions_filters_common_fault_v3_FaultRateLimit__Output } from '../../../../../../envoy/extensions/filters/common/fault/v3/FaultRateLimit.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../../../../../google/protobuf/Struct.js';

export interface HTTPFault {
  'delay'?: (_envoy_extensions_filters_common_fault_v3_FaultDelay | null);
  'abort'?: (_envoy_extensions_filters_http_fault_v3_FaultAbort | null);
  'upstream_cluster'?: (string);
  'headers'?: (_envoy_config_route_v3_HeaderMatcher)[];
  'downstream_nodes'?: (string)[];
  'max_active_faults'?: (_google_protobuf_UInt32Value | null);
  'response_rate_limit'?: (_envoy_extensions_filters_common_fault_v3_FaultRateLimit | null);
  'delay_percent_runtime'?: (string);
  'abort_percent_runtime'?: (string);
  'delay_duration_runtime'?: (string);
  'abort_http_status_runtime'?: (string);
  'max_active_faults_runtime'?: (string);
  'response_rate_limit_percent_runtime'?: (string);
  'abort_grpc_status_runtime'?: (string);
  'disable_downstream_cluster_stats'?: (boolean);
  'filter_metadata'?: (_google_protobuf_Struct | null);
}

export interface HTTPFault__Output {
  'delay': (_envoy_extensions_filters_common_fault_v3_FaultDelay__Output | null);
  'abort': (_envoy_extensions_filters_http_fault_v3_FaultAbort__Output | null);
  'upstream_cluster': (string);
  'headers': (_envoy_config_route_v3_HeaderMatcher__Output)[];
  'downstream_nodes': (string)[];
  'max_active_faults': (_google_protobuf_UInt32Value__Output | null);
  'response_rate_limit': (_envoy_extensions_filters_common_fault_v3_FaultRateLimit__Output | null);
  'delay_percent_runtime': (string);
  'abort_percent_runtime': (string);
  'delay_duration_runtime': (string);
  'abort_http_status_runtime': (string);
  'max_active_faults_runtime': (string);
  'response_rate_limit_percent_runtime': (string);
  'abort_grpc_status_runtime': (string);
  'disable_downstream_cluster_stats': (boolean);
  'filter_metadata': (_google_protobuf_Struct__Output | null);
}
