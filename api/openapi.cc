// api/openapi.cc — the OpenAPI 3 document served at GET /api/v1/openapi.json.
// tests/api/openapi_test.cc checks that its paths and methods are exactly
// the router's routes(). May call: nothing.
#include "api/router.h"

namespace trackrelay::api {
namespace {

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
      "id": {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}
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
      "Counts": {"type": "object", "properties": {"click": {"type": "integer"}, "open": {"type": "integer"}, "initial_open": {"type": "integer"}}},
      "Event": {"type": "object", "properties": {"type": {"type": "string"}, "event_id": {"type": "string"}, "timestamp": {"type": "string"}, "tracking_domain": {"type": "string"}, "target_link_url": {"type": "string"}, "target_link_name": {"type": "string"}, "message_id": {"type": "string"}, "rcpt_to": {"type": "string"}, "campaign_id": {"type": "string"}, "sending_domain": {"type": "string"}, "user_agent": {"type": "string"}, "ip_address": {"type": "string"}}}
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
      "post": {"summary": "Create a subaccount (primary key only)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "status": {"type": "string"}, "setup_api_key": {"type": "boolean"}, "key_label": {"type": "string"}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "403": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}},
      "get": {"summary": "List subaccounts (primary key only)", "responses": {"200": {"$ref": "#/components/responses/Results"}, "403": {"$ref": "#/components/responses/Error"}}}
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
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"label": {"type": "string"}, "subaccount_id": {"type": "integer"}}}}}},
        "responses": {"200": {"$ref": "#/components/responses/Results"}, "403": {"$ref": "#/components/responses/Error"}}},
      "get": {"summary": "List API keys (never the keys themselves)", "parameters": [{"$ref": "#/components/parameters/subaccount"}], "responses": {"200": {"$ref": "#/components/responses/Results"}}}
    },
    "/api-keys/{id}": {
      "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/subaccount"}],
      "delete": {"summary": "Revoke an API key", "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "404": {"$ref": "#/components/responses/Error"}}}
    },
    "/events/message": {
      "get": {"summary": "Clicks and opens, newest first, cursor-paginated", "parameters": [{"$ref": "#/components/parameters/subaccount"},
          {"name": "events", "in": "query", "schema": {"type": "string"}, "description": "comma-separated: click, open, initial_open"},
          {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601; default 24 hours ago"},
          {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601 (exclusive)"},
          {"name": "campaign_ids", "in": "query", "schema": {"type": "string"}},
          {"name": "tracking_domains", "in": "query", "schema": {"type": "string"}},
          {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}},
          {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "from links.next; 'initial' or absent for the first page"}],
        "responses": {"200": {"description": "A page", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}, "total_count": {"type": "integer"}, "links": {"type": "object", "properties": {"next": {"type": "string"}}}}}}}}, "422": {"$ref": "#/components/responses/Error"}}}
    },
    "/events/summary": {
      "get": {"summary": "Counts over a time range (trackrelay extension): clicks and opens per bucket, top links by clicks, per tracking domain and per campaign", "parameters": [{"$ref": "#/components/parameters/subaccount"},
          {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601; default 24 hours ago"},
          {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601 (exclusive); default now"},
          {"name": "bucket", "in": "query", "schema": {"type": "string", "enum": ["minute", "hour", "day"]}, "description": "default: minute up to 3 hours, hour up to 14 days, else day; at most 2000 buckets"},
          {"name": "events", "in": "query", "schema": {"type": "string"}, "description": "comma-separated: click, open, initial_open"},
          {"name": "campaign_ids", "in": "query", "schema": {"type": "string"}},
          {"name": "tracking_domains", "in": "query", "schema": {"type": "string"}},
          {"name": "top", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}, "description": "how many top links, tracking domains and campaigns"}],
        "responses": {"200": {"description": "The counts", "content": {"application/json": {"schema": {"type": "object", "properties": {"results": {"type": "object", "properties": {
          "from": {"type": "string"}, "to": {"type": "string"}, "bucket": {"type": "string"},
          "totals": {"$ref": "#/components/schemas/Counts"},
          "timeline": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Counts"}, {"type": "object", "properties": {"time": {"type": "string"}}}]}},
          "top_links": {"type": "array", "items": {"type": "object", "properties": {"target_link_url": {"type": "string"}, "target_link_name": {"type": "string"}, "clicks": {"type": "integer"}}}},
          "tracking_domains": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Counts"}, {"type": "object", "properties": {"tracking_domain": {"type": "string"}}}]}},
          "campaigns": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Counts"}, {"type": "object", "properties": {"campaign_id": {"type": "string"}}}]}}}}}}}}},
          "401": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}}
    }
  }
})json";

}  // namespace

std::string_view openapi_json() {
  return kDocument;
}

}  // namespace trackrelay::api
