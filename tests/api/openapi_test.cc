// tests/api/openapi_test.cc — the OpenAPI document is valid JSON, OpenAPI 3,
// and lists exactly the routes the router answers (no more, no fewer); and
// every documented route answers through the router (never 404/405).
#include <set>

#include "api_test_util.h"

namespace trackrelay::api::testing {
namespace {

std::set<std::string> documented() {
  json::value doc = json::parse(openapi_json());
  std::set<std::string> out;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      if (method == "parameters") continue;
      std::string m(method);
      for (char& c : m) c = static_cast<char>(std::toupper(c));
      out.insert(m + " " + std::string(path));
    }
  }
  return out;
}

TEST(OpenApi, IsOpenApi3) {
  json::value doc = json::parse(openapi_json());
  EXPECT_TRUE(std::string(doc.at("openapi").as_string()).starts_with("3."));
  EXPECT_EQ(std::string(doc.at("servers").at(0).at("url").as_string()), "/api/v1");
}

// The five /metrics/deliverability* paths share one parameter list
// (api/openapi.cc kDeliverabilityQuery): each has it whole, after the header.
TEST(OpenApi, EveryDeliverabilityPathListsTheSharedQueryParameters) {
  json::value doc = json::parse(openapi_json());
  int paths = 0;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    if (!std::string_view(path).starts_with("/metrics/deliverability")) continue;
    ++paths;
    const json::array& params = item.at("get").at("parameters").as_array();
    ASSERT_EQ(params.size(), 13u) << path;
    EXPECT_EQ(params[1].at("name").as_string(), "from") << path;
    EXPECT_TRUE(params[1].at("required").as_bool()) << path;
    EXPECT_EQ(params[12].at("name").as_string(), "limit") << path;
  }
  EXPECT_EQ(paths, 5);
}

TEST(OpenApi, ListsExactlyTheRoutes) {
  std::set<std::string> routed;
  for (const Route& r : routes()) routed.insert(std::string(r.method) + " " + std::string(r.path));
  EXPECT_EQ(documented(), routed);
}

TEST_F(Api, EveryDocumentedRouteAnswers) {
  for (const std::string& entry : documented()) {
    const std::string method = entry.substr(0, entry.find(' '));
    std::string path = entry.substr(entry.find(' ') + 1);
    for (auto [param, value] : {std::pair{"{domain}", "x.example.com"}, {"{id}", "1"}}) {
      if (auto at = path.find(param); at != std::string::npos)
        path.replace(at, std::string(param).size(), value);
    }
    const Reply r = call(method, path, "{}");
    EXPECT_NE(error_text(r), "not found: no such resource") << entry << " is not routed";
    EXPECT_NE(r.status, 405) << entry;
  }
}

TEST_F(Api, DocumentIsServedWithoutAKey) {
  ApiRequest req;
  req.method = "GET";
  req.target = "/api/v1/openapi.json";
  ApiResponse r = router_->handle(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, openapi_json());
}

}  // namespace
}  // namespace trackrelay::api::testing
