// api/openapi.cc — the OpenAPI 3 document served at GET /api/v1/openapi.json.
// tests/api/openapi_test.cc checks that its paths and methods are exactly
// the router's routes(). May call: nothing.
#include <string>

#include "api/router.h"

namespace trackrelay::api {
namespace {

// The query parameters of the five /metrics/deliverability* paths: one copy,
// put in place of each kQueryMark when the document is first served.
constexpr std::string_view kQueryMark = "@DELIVERABILITY_QUERY@";
constexpr std::string_view kDeliverabilityQuery = R"json(
          {"name": "from", "in": "query", "required": true, "schema": {"type": "string"}, "description": "ISO 8601"},
          {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601 (exclusive); default now"},
          {"name": "timezone", "in": "query", "schema": {"type": "string"}, "description": "UTC or an offset such as +02:00"},
          {"name": "metrics", "in": "query", "schema": {"type": "string"}, "description": "comma-separated; default all six"},
          {"name": "campaigns", "in": "query", "schema": {"type": "string"}},
          {"name": "sending_domains", "in": "query", "schema": {"type": "string"}},
          {"name": "subaccounts", "in": "query", "schema": {"type": "string"}},
          {"name": "tracking_domains", "in": "query", "schema": {"type": "string"}},
          {"name": "order_by", "in": "query", "schema": {"type": "string"}, "description": "a metric, descending"},
          {"name": "classifications", "in": "query", "schema": {"type": "string"}, "description": "clicks and opens of these kinds only (default: human)"},
          {"name": "include_machines", "in": "query", "schema": {"type": "boolean"}, "description": "count every click and open, people or not"},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}}
)json";

constexpr std::string_view kDocument = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "trackrelay management API",
    "version": "1",
    "description": "Tracking domains, sending domains, subaccounts, API keys and engagement events, in the shapes of the hosted SparkPost API. Authenticate with `Authorization: <api key>` (or HTTP Basic with the key as user name); scope a request to a subaccount with `X-MSYS-SUBACCOUNT: <id>`. Errors are {\"errors\":[{\"message\",\"description\",\"code\"}]}."
  },
  "servers": [{"url": "/api/v1"}],
  "security": [{"apiKey": []}, {"basic": []}, {"session": []}],
  "components": {
    "securitySchemes": {
      "apiKey": {"type": "apiKey", "in": "header", "name": "Authorization"},
      "basic": {"type": "http", "scheme": "basic"},
      "session": {"type": "apiKey", "in": "cookie", "name": "trackrelay_session", "description": "The dashboard's session (POST /session, docs/dashboard.md); every change also needs the session's X-CSRF-Token header."}
    },
    "parameters": {
      "subaccount": {"name": "X-MSYS-SUBACCOUNT", "in": "header", "required": false, "schema": {"type": "integer", "minimum": 0}, "description": "Act for this subaccount (0: the primary account). A subaccount key may only name its own."},
      "domain": {"name": "domain", "in": "path", "required": true, "schema": {"type": "string"}, "description": "Domain name, any case, U-label or A-label."},
      "id": {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}},
      "webhook_id": {"name": "webhook_id", "in": "path", "required": true, "schema": {"type": "string"}}
    },
    "schemas": {
      "Errors": {"type": "object", "properties": {"errors": {"type": "array", "items": {"type": "object", "properties": {"message": {"type": "string"}, "description": {"type": "string"}, "code": {"type": "string"}}, "required": ["message"]}}}},
      "TrackingStatus": {"type": "object", "properties": {"verified": {"type": "boolean"}, "cname_status": {"type": "string", "enum": ["unverified", "pending", "invalid", "valid"]}, "compliance_status": {"type": "string", "enum": ["pending", "valid", "blocked"]}}},
      "TrackingDomain": {"type": "object", "properties": {
        "domain": {"type": "string"}, "port": {"type": "integer"}, "secure": {"type": "boolean"}, "default": {"type": "boolean"},
        "status": {"$ref": "#/components/schemas/TrackingStatus"}, "subaccount_id": {"type": "integer"},
        "managed_by": {"type": "string", "enum": ["api", "config"]},
        "tls": {"type": "object", "description": "secure domains only: where the certificate stands", "properties": {"status": {"type": "string", "enum": ["pending", "active", "failed", "manual"]}, "expires": {"type": "string", "nullable": true}, "message": {"type": "string"}}},
        "verification": {"type": "object", "properties": {"record": {"type": "object"}, "expected": {"type": "string"}, "found": {"type": "string"}, "message": {"type": "string"}, "checked_at": {"type": "string"}, "http_challenge": {"type": "object", "properties": {"url": {"type": "string"}, "token": {"type": "string"}}}}}}},
      "SendingDomain": {"type": "object", "properties": {"domain": {"type": "string"}, "tracking_domain": {"type": "string"}, "status": {"type": "object"}, "subaccount_id": {"type": "integer"}, "managed_by": {"type": "string", "enum": ["api", "config"]}}},
      "WebhookInput": {"type": "object", "properties": {"name": {"type": "string"}, "target": {"type": "string", "description": "http:// or https:// URL; it must reach a global address unless dns.allow_private_addresses"}, "events": {"type": "array", "items": {"type": "string", "enum": ["click", "open", "initial_open", "injection"]}}, "auth_type": {"type": "string", "enum": ["none", "basic"]}, "auth_credentials": {"type": "object", "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}, "active": {"type": "boolean"}}},
      "Counts": {"type": "object", "properties": {"click": {"type": "integer"}, "open": {"type": "integer"}, "initial_open": {"type": "integer"}}},
      "Event": {"type": "object", "properties": {"type": {"type": "string", "enum": ["injection", "click", "open", "initial_open"]}, "event_id": {"type": "string"}, "timestamp": {"type": "string"}, "message_id": {"type": "string"}, "transmission_id": {"type": "string"}, "campaign_id": {"type": "string"}, "subaccount_id": {"type": "integer"}, "rcpt_to": {"type": "string"}, "raw_rcpt_to": {"type": "string"}, "rcpt_meta": {"type": "object"}, "rcpt_tags": {"type": "array", "items": {"type": "string"}}, "friendly_from": {"type": "string"}, "sending_domain": {"type": "string"}, "tracking_domain": {"type": "string"}, "msg_from": {"type": "string"}, "msg_size": {"type": "string", "description": "injections"}, "target_link_url": {"type": "string", "description": "clicks"}, "target_link_name": {"type": "string", "description": "clicks"}, "user_agent": {"type": "string"}, "ip_address": {"type": "string"}, "method": {"type": "string"}, "classification": {"type": "object", "description": "who made it (docs/metrics.md); absent on events recorded before schema version 6", "properties": {"kind": {"type": "string", "enum": ["human", "apple_mpp", "image_proxy", "scanner"]}, "reasons": {"type": "array", "items": {"type": "string"}}}}}},
      "Deliverability": {"type": "object", "properties": {"count_injected": {"type": "integer"}, "count_clicked": {"type": "integer"}, "count_unique_clicked": {"type": "integer"}, "count_rendered": {"type": "integer"}, "count_unique_rendered": {"type": "integer"}, "count_initial_rendered": {"type": "integer"}}}
    },
    "responses": {
      "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}},
      "Results": {"description": "Success", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {}}}}}},
      "NoContent": {"description": "Deleted"}
    }
  },
  "paths": {
    "/openapi.json": {
      "get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3 document"}}}
    },
    "/tracking-domains": {
      "post": {"summary": "Create a tracking domain", "parameters": [{"$ref": "#/components/parameters/subaccount"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["domain"], "properties": {"domain": {"type": "string"}, "secure": {"type": "boolean"}, "port": {"type": "integer"}, "default": {"type": "boolean", "description": "become the default once verified"}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}},
      "get": {"summary": "List tracking domains", "parameters": [{"$ref": "#/components/parameters/subaccount"},
          {"name": "default", "in": "query", "schema": {"type": "boolean"}},
          {"name": "subaccounts", "in": "query", "schema": {"type": "string"}, "description": "comma-separated subaccount ids"}],
        "responses": {"200": {"description": "The domains", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/TrackingDomain"}}}}}}}, "401": {"$ref": "#/components/responses/Error"}}}
    },
    "/tracking-domains/{domain}": {
      "parameters": [{"$ref": "#/components/parameters/domain"}, {"$ref": "#/components/parameters/subaccount"}],
      "get": {"summary": "Retrieve a tracking domain", "responses": {"200": {"$ref": "#/components/responses/Results"}, "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
      "put": {"summary": "Update a tracking domain",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"secure": {"type": "boolean"}, "default": {"type": "boolean"}, "port": {"type": "integer"}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Delete a tracking domain", "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}
    },
    "/tracking-domains/{domain}/verify": {
      "parameters": [{"$ref": "#/components/parameters/domain"}, {"$ref": "#/components/parameters/subaccount"}],
      "post": {"summary": "Verify a tracking domain (CNAME, or the HTTP challenge with {\"http\": true})",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"http": {"type": "boolean"}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Error"}}}
    },
    "/tracking-domains/{domain}/certificate": {
      "parameters": [{"$ref": "#/components/parameters/domain"}, {"$ref": "#/components/parameters/subaccount"}],
      "put": {"summary": "Upload the domain's certificate (PEM chain, leaf first, and its key); served at once",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["certificate", "key"], "properties": {"certificate": {"type": "string"}, "key": {"type": "string"}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Remove the uploaded certificate (back to ACME)", "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}
    },
    "/sending-domains": {
      "post": {"summary": "Create a sending domain", "parameters": [{"$ref": "#/components/parameters/subaccount"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["domain"], "properties": {"domain": {"type": "string"}, "tracking_domain": {"type": "string"}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}},
      "get": {"summary": "List sending domains", "parameters": [{"$ref": "#/components/parameters/subaccount"}],
        "responses": {"200": {"description": "The domains", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/SendingDomain"}}}}}}}}}
    },
    "/sending-domains/{domain}": {
      "parameters": [{"$ref": "#/components/parameters/domain"}, {"$ref": "#/components/parameters/subaccount"}],
      "get": {"summary": "Retrieve a sending domain", "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Error"}}},
      "put": {"summary": "Update a sending domain (tracking_domain \"\" removes the link)",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"tracking_domain": {"type": "string"}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Delete a sending domain", "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}
    },
    "/sending-domains/{domain}/verify": {
      "parameters": [{"$ref": "#/components/parameters/domain"}, {"$ref": "#/components/parameters/subaccount"}],
      "post": {"summary": "Verify ownership: look up _trackrelay.{domain} TXT \"trackrelay-verification=<token>\"; until verified the domain does not apply to mail",
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Error"}}}
    },
    "/subaccounts": {
      "post": {"summary": "Create a subaccount (primary key only); with setup_api_key (default true) the answer has its new key once: results.key, label, short_key",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "status": {"type": "string"}, "setup_api_key": {"type": "boolean", "default": true}, "key_label": {"type": "string"}, "key_grants": {"type": "array", "items": {"type": "string", "enum": ["smtp/inject", "sending_domains/manage", "tracking_domains/view", "tracking_domains/manage", "message_events/view", "metrics/view", "api_keys/manage", "webhooks/view", "webhooks/modify"]}}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}},
      "get": {"summary": "List subaccounts (primary key only)", "responses": {"200": {"$ref": "#/components/responses/Results"}, "403": {"$ref": "#/components/responses/Error"}}}
    },
    "/subaccounts/summary": {
      "get": {"summary": "Count subaccounts (primary key only): total, and active, suspended, terminated", "responses": {"200": {"$ref": "#/components/responses/Results"}, "403": {"$ref": "#/components/responses/Error"}}}
    },
    "/subaccounts/{id}": {
      "parameters": [{"$ref": "#/components/parameters/id"}],
      "get": {"summary": "Retrieve a subaccount", "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Error"}}},
      "put": {"summary": "Update a subaccount (suspended or terminated: its keys stop authenticating and its domains stop applying to mail; terminated is final)",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"name": {"type": "string"}, "status": {"type": "string", "enum": ["active", "suspended", "terminated"]}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}}
    },
    "/api-keys": {
      "post": {"summary": "Create an API key (the key is in this response only)", "parameters": [{"$ref": "#/components/parameters/subaccount"}],
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"label": {"type": "string"}, "subaccount_id": {"type": "integer"}, "grants": {"type": "array", "items": {"type": "string"}, "description": "default: the creating key's grants; never more than it has"}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "403": {"$ref": "#/components/responses/Error"}}},
      "get": {"summary": "List API keys (never the keys themselves)", "parameters": [{"$ref": "#/components/parameters/subaccount"}], "responses": {"200": {"$ref": "#/components/responses/Results"}}}
    },
    "/api-keys/{id}": {
      "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/subaccount"}],
      "delete": {"summary": "Revoke an API key", "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "404": {"$ref": "#/components/responses/Error"}}}
    },
    "/events/message": {
      "get": {"summary": "Message events (SparkPost's search): injections, clicks and opens, newest first, cursor-paginated; any other parameter is a 400", "parameters": [{"$ref": "#/components/parameters/subaccount"},
          {"name": "events", "in": "query", "schema": {"type": "string"}, "description": "comma-separated: injection, click, open, initial_open"},
          {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601; default 24 hours before 'to'"},
          {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601 (exclusive); default now"},
          {"name": "timezone", "in": "query", "schema": {"type": "string"}, "description": "of from/to without a zone: UTC or an offset such as +02:00"},
          {"name": "campaigns", "in": "query", "schema": {"type": "string"}, "description": "comma-separated campaign ids"},
          {"name": "campaign_ids", "in": "query", "schema": {"type": "string"}, "description": "the same as campaigns (trackrelay's earlier name)"},
          {"name": "recipients", "in": "query", "schema": {"type": "string"}, "description": "comma-separated rcpt_to addresses (case-insensitive)"},
          {"name": "message_ids", "in": "query", "schema": {"type": "string"}},
          {"name": "transmission_ids", "in": "query", "schema": {"type": "string"}},
          {"name": "subaccounts", "in": "query", "schema": {"type": "string"}, "description": "comma-separated subaccount ids (0: the primary account)"},
          {"name": "sending_domains", "in": "query", "schema": {"type": "string"}},
          {"name": "tracking_domains", "in": "query", "schema": {"type": "string"}},
          {"name": "classifications", "in": "query", "schema": {"type": "string"}, "description": "comma-separated: human, apple_mpp, image_proxy, scanner"},
          {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}},
          {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "from links.next; 'initial' or absent for the first page"}],
        "responses": {"200": {"description": "A page", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}, "total_count": {"type": "integer", "description": "events matching, on all pages"}, "links": {"type": "object", "properties": {"next": {"type": "string"}}}}}}}}, "400": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}}
    },
    "/events/summary": {
      "get": {"summary": "Counts over a time range (trackrelay extension): clicks and opens per bucket, top links by clicks, per tracking domain and per campaign", "parameters": [{"$ref": "#/components/parameters/subaccount"},
          {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601; default 24 hours ago"},
          {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601 (exclusive); default now"},
          {"name": "bucket", "in": "query", "schema": {"type": "string", "enum": ["minute", "hour", "day"]}, "description": "default: minute up to 3 hours, hour up to 14 days, else day; at most 2000 buckets"},
          {"name": "events", "in": "query", "schema": {"type": "string"}, "description": "comma-separated: click, open, initial_open"},
          {"name": "campaign_ids", "in": "query", "schema": {"type": "string"}},
          {"name": "tracking_domains", "in": "query", "schema": {"type": "string"}},
          {"name": "classifications", "in": "query", "schema": {"type": "string"}, "description": "comma-separated: human, apple_mpp, image_proxy, scanner"},
          {"name": "top", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}, "description": "how many top links, tracking domains and campaigns"}],
        "responses": {"200": {"description": "The counts", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "object", "properties": {
          "from": {"type": "string"}, "to": {"type": "string"}, "bucket": {"type": "string"},
          "totals": {"$ref": "#/components/schemas/Counts"},
          "timeline": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Counts"}, {"type": "object", "properties": {"time": {"type": "string"}}}]}},
          "top_links": {"type": "array", "items": {"type": "object", "properties": {"target_link_url": {"type": "string"}, "target_link_name": {"type": "string"}, "clicks": {"type": "integer"}}}},
          "tracking_domains": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Counts"}, {"type": "object", "properties": {"tracking_domain": {"type": "string"}}}]}},
          "campaigns": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Counts"}, {"type": "object", "properties": {"campaign_id": {"type": "string"}}}]}},
          "classifications": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Counts"}, {"type": "object", "properties": {"classification": {"type": "string"}}}]}}}}}}}}},
          "401": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}}
    },
    "/metrics/deliverability": {
      "get": {"summary": "Deliverability metrics (SparkPost's engagement subset) over the range", "parameters": [{"$ref": "#/components/parameters/subaccount"},
@DELIVERABILITY_QUERY@],
        "responses": {"200": {"description": "The metrics", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Deliverability"}}}}}}}, "400": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}}
    },
    "/metrics/deliverability/campaign": {
      "get": {"summary": "Deliverability metrics per campaign_id", "parameters": [{"$ref": "#/components/parameters/subaccount"},
@DELIVERABILITY_QUERY@],
        "responses": {"200": {"description": "The metrics", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Deliverability"}}}}}}}, "400": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}}
    },
    "/metrics/deliverability/sending-domain": {
      "get": {"summary": "Deliverability metrics per sending_domain", "parameters": [{"$ref": "#/components/parameters/subaccount"},
@DELIVERABILITY_QUERY@],
        "responses": {"200": {"description": "The metrics", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Deliverability"}}}}}}}, "400": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}}
    },
    "/metrics/deliverability/subaccount": {
      "get": {"summary": "Deliverability metrics per subaccount_id", "parameters": [{"$ref": "#/components/parameters/subaccount"},
@DELIVERABILITY_QUERY@],
        "responses": {"200": {"description": "The metrics", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Deliverability"}}}}}}}, "400": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}}
    },
    "/metrics/deliverability/tracking-domain": {
      "get": {"summary": "Deliverability metrics per tracking_domain (trackrelay extension)", "parameters": [{"$ref": "#/components/parameters/subaccount"},
@DELIVERABILITY_QUERY@],
        "responses": {"200": {"description": "The metrics", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Deliverability"}}}}}}}, "400": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}}
    },
    "/webhooks": {
      "parameters": [{"$ref": "#/components/parameters/subaccount"}],
      "post": {"summary": "Create a webhook; the answer has its signing_secret, shown this once (docs/webhooks.md)", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookInput"}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}},
      "get": {"summary": "List the webhooks", "responses": {"200": {"$ref": "#/components/responses/Results"}, "401": {"$ref": "#/components/responses/Error"}}}
    },
    "/webhooks/{webhook_id}": {
      "parameters": [{"$ref": "#/components/parameters/webhook_id"}, {"$ref": "#/components/parameters/subaccount"}],
      "get": {"summary": "A webhook", "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Error"}}},
      "put": {"summary": "Change name, target, events, auth_type, auth_credentials, active", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookInput"}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Delete a webhook and its queued batches", "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "404": {"$ref": "#/components/responses/Error"}}}
    },
    "/webhooks/{webhook_id}/validate": {
      "parameters": [{"$ref": "#/components/parameters/webhook_id"}, {"$ref": "#/components/parameters/subaccount"}],
      "post": {"summary": "POST a signed test batch (or the body's message) to the target now; results.response has the receiver's status, headers and body", "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"message": {}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"}}}
    },
    "/webhooks/{webhook_id}/batch-status": {
      "parameters": [{"$ref": "#/components/parameters/webhook_id"}, {"$ref": "#/components/parameters/subaccount"}],
      "get": {"summary": "The newest delivery attempts, newest first: ts, batch_id, attempts (this attempt's number), response_code, failure_code and error (not delivered), state (the batch's after it: delivered, pending, failed)", "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}],
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Error"}}}
    }
  }
})json";

}  // namespace

std::string_view openapi_json() {
  static const std::string document = [] {
    std::string d(kDocument);
    for (auto at = d.find(kQueryMark); at != std::string::npos; at = d.find(kQueryMark, at)) {
      d.replace(at, kQueryMark.size(), kDeliverabilityQuery);
      at += kDeliverabilityQuery.size();
    }
    return d;
  }();
  return document;
}

}  // namespace trackrelay::api
