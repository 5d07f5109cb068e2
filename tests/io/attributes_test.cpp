#include <cmath>
#include <filesystem>
#include <limits>

#include "io_test_util.hpp"
#include "lowrank/io/attributes.hpp"
#include "lowrank/io/csv.hpp"
#include "lowrank/io/triplets.hpp"

namespace lowrank::io {
namespace {

using test::fixture;
using test::input_error;
using test::repo_file;
using test::TempDir;
using ::testing::Contains;
using ::testing::HasSubstr;

const std::vector<std::string> kUserNames = {"user", "age", "gender", "occupation", "zip"};

IdMap ids(std::initializer_list<const char*> names) {
  IdMap m;
  for (const char* n : names) m.get_or_add(n);
  return m;
}

std::vector<std::int32_t> group(const RowGroupResult& r, const std::string& name) {
  for (std::size_t g = 0; g < r.groups.size(); ++g)
    if (r.groups.names[g] == name) return r.groups.rows[g];
  ADD_FAILURE() << "no group " << name;
  return {};
}

TEST(ReadAttributeTable, PipeSeparatedWithGivenNames) {
  AttributeReadOptions o;
  o.names = kUserNames;
  const auto t = read_attribute_table(fixture("users.user"), o);
  EXPECT_EQ(t.id_name, "user");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"age", "gender", "occupation", "zip"}));
  EXPECT_EQ(t.rows(), 6u);
  EXPECT_EQ(t.ids[5], "6");
  EXPECT_EQ(t.lines[5], 6u);
  EXPECT_EQ(t.numeric, (std::vector<bool>{true, false, false, true}));
  EXPECT_EQ(t.cells[2][1], "other");
  // Without names the first line would be taken as a header: say so explicitly.
  AttributeReadOptions wrong;
  wrong.names = {"a", "b"};
  EXPECT_THAT(input_error([&] { read_attribute_table(fixture("users.user"), wrong); }),
              HasSubstr("users.user:1: expected 2 fields (one per given column name), found 5"));
}

TEST(MakeRowGroups, LevelsBinsAndWarnings) {
  AttributeReadOptions o;
  o.names = kUserNames;
  const auto t = read_attribute_table(fixture("users.user"), o);
  // Data rows: users 4, 1, 6, 2 (first-seen order of some ratings file); 3 and 5 unused.
  const IdMap rows = ids({"4", "1", "6", "2"});
  const auto r = make_row_groups(t, rows, {"gender", "age", "occupation"}, {{"age", {0, 25, 35, 100}}});
  EXPECT_EQ(r.groups.names,
            (std::vector<std::string>{"gender=F", "gender=M", "age=[0,25)", "age=[25,35)", "age=[35,100)",
                                      "occupation=executive", "occupation=other", "occupation=technician"}));
  EXPECT_EQ(group(r, "gender=F"), (std::vector<std::int32_t>{3}));
  EXPECT_EQ(group(r, "gender=M"), (std::vector<std::int32_t>{0, 1, 2}));
  EXPECT_EQ(group(r, "age=[0,25)"), (std::vector<std::int32_t>{0, 1}));  // 24, 24
  EXPECT_TRUE(group(r, "age=[25,35)").empty());
  EXPECT_EQ(group(r, "age=[35,100)"), (std::vector<std::int32_t>{2, 3}));  // 42, 53
  EXPECT_EQ(group(r, "occupation=technician"), (std::vector<std::int32_t>{0, 1}));
  EXPECT_EQ(r.unmatched_attribute_rows, 2u);
  EXPECT_THAT(r.warnings, Contains(HasSubstr("2 attribute row(s) have no data row (ignored)")));
  EXPECT_THAT(r.warnings, Contains(HasSubstr("group 'age=[25,35)' is empty")));
  // Every data row sits in exactly one group per column.
  std::vector<int> per_row(4, 0);
  for (const auto& g : r.groups.rows)
    for (auto i : g) ++per_row[static_cast<std::size_t>(i)];
  EXPECT_EQ(per_row, (std::vector<int>{3, 3, 3, 3}));
}

TEST(MakeRowGroups, CsvHeaderQuotesNumericLevelsAndMissing) {
  const auto t = read_attribute_table(fixture("attributes.csv"));
  EXPECT_EQ(t.id_name, "site");
  const IdMap rows = ids({"D", "C", "B", "A"});
  const auto r = make_row_groups(t, rows, {"moisture", "use", "depth"});
  EXPECT_EQ(r.groups.names,
            (std::vector<std::string>{"moisture=1", "moisture=2", "moisture=3", "use=hay, pasture", "use=hayfield",
                                      "use=pasture", "depth=2.5", "depth=4", "depth=7"}));
  EXPECT_EQ(group(r, "moisture=1"), (std::vector<std::int32_t>{1, 3}));
  EXPECT_EQ(group(r, "use=pasture"), (std::vector<std::int32_t>{0, 2}));
  EXPECT_THAT(r.warnings, Contains(HasSubstr("column 'depth': 1 data row(s) have a missing value")));
  const auto single = make_row_groups(t, ids({"B", "D"}), {"use"});
  EXPECT_THAT(single.warnings, Contains(HasSubstr("column 'use' has a single level 'pasture'")));
}

TEST(MakeRowGroups, VeganMiteEnvMatchesPythonCounts) {
  const auto mite = read_dense_csv(repo_file("data/ecology/mite.csv"));
  const IdMap rows = id_map_from_names(mite.row_names);
  const auto env = read_attribute_table(repo_file("data/ecology/mite_env.csv"));
  const double inf = std::numeric_limits<double>::infinity();
  const auto r =
      make_row_groups(env, rows, {"Shrub", "Topo", "Substrate", "WatrCont"}, {{"WatrCont", {-inf, 400, 600, inf}}});
  EXPECT_TRUE(r.warnings.empty());
  // Reference counts from Python's csv module + collections.Counter.
  EXPECT_EQ(group(r, "Shrub=Few").size(), 26u);
  EXPECT_EQ(group(r, "Shrub=Many").size(), 25u);
  EXPECT_EQ(group(r, "Shrub=None").size(), 19u);
  EXPECT_EQ(group(r, "Topo=Blanket").size(), 44u);
  EXPECT_EQ(group(r, "Substrate=Sphagn3").size(), 1u);
  EXPECT_EQ(group(r, "Substrate=Interface").size(), 27u);
  EXPECT_EQ(group(r, "WatrCont=[-inf,400)").size(), 36u);
  EXPECT_EQ(group(r, "WatrCont=[400,600)").size(), 27u);
  EXPECT_EQ(group(r, "WatrCont=[600,inf)").size(), 7u);
  EXPECT_EQ(r.groups.size(), 3u + 2u + 7u + 3u);
}

TEST(MakeRowGroupsBad, MissingColumnOrphansBinsAndArguments) {
  AttributeReadOptions o;
  o.names = kUserNames;
  const auto t = read_attribute_table(fixture("users.user"), o);
  auto msg = input_error([&] { make_row_groups(t, ids({"1"}), {"sex"}); });
  EXPECT_THAT(msg, HasSubstr("users.user: no column 'sex' (available: age, gender, occupation, zip)"));
  msg = input_error([&] { make_row_groups(t, ids({"1", "77", "2", "99"}), {"gender"}); });
  EXPECT_THAT(msg, HasSubstr("2 data row(s) have no attribute row, e.g. ids 77, 99"));
  msg = input_error([&] { make_row_groups(t, ids({"1", "2"}), {"age"}, {{"age", {30, 60}}}); });
  EXPECT_THAT(msg, HasSubstr("users.user:1: column 'age': value 24 of id '1' is outside the bins [30, 60)"));
  msg = input_error([&] { make_row_groups(t, ids({"1"}), {"gender"}, {{"gender", {0, 1}}}); });
  EXPECT_THAT(msg, HasSubstr("users.user:1: column 'gender' is binned but id '1' has the non-numeric value 'M'"));
  EXPECT_THROW(make_row_groups(t, IdMap{}, {"gender"}), InvalidArgument);
  EXPECT_THROW(make_row_groups(t, ids({"1"}), {"gender"}, {{"age", {0, 1}}}),
               InvalidArgument);  // bins for an unchosen column
  EXPECT_THROW(make_row_groups(t, ids({"1"}), {"age"}, {{"age", {0, 50, 50}}}), InvalidArgument);
  EXPECT_THROW(make_row_groups(t, ids({"1"}), {"age"}, {{"age", {5}}}), InvalidArgument);
}

TEST(ReadAttributeTableBad, EveryMalformedTable) {
  TempDir dir;
  EXPECT_THAT(input_error([&] { read_attribute_table(dir.write("e.csv", "")); }), HasSubstr("e.csv: empty file"));
  EXPECT_THAT(input_error([&] { read_attribute_table(dir.write("h.csv", "id,a\n")); }),
              HasSubstr("h.csv:1: header only"));
  EXPECT_THAT(input_error([&] { read_attribute_table(dir.write("r.csv", "id,a\n1,x\n2\n")); }),
              HasSubstr("r.csv:3: expected 2 fields like the header, found 1"));
  EXPECT_THAT(input_error([&] { read_attribute_table(dir.write("d.csv", "id,a\r\n1,x\r\n2,y\r\n1,z\r\n")); }),
              HasSubstr("d.csv:4: id '1' repeats the row on line 2"));
  EXPECT_THAT(input_error([&] { read_attribute_table(dir.write("s.csv", "id\n1\n")); }), HasSubstr("single field"));
  AttributeReadOptions o;
  o.id_column = 5;
  EXPECT_THAT(input_error([&] { read_attribute_table(dir.write("c.csv", "id,a\n1,x\n"), o); }),
              HasSubstr("c.csv:2: id column 6 does not exist"));
  AttributeReadOptions n;
  n.names = {"id", "a", "b"};
  n.header = true;
  EXPECT_THAT(input_error([&] { read_attribute_table(dir.write("n.csv", "x,y\n1,2\n"), n); }),
              HasSubstr("n.csv:1: 3 column names were given but the header has 2 fields"));
  // BOM + CRLF + header replaced by names: accepted.
  AttributeReadOptions k;
  k.names = {"id", "v"};
  k.header = true;
  const auto t = read_attribute_table(dir.write("ok.csv", "\xEF\xBB\xBFx,y\r\n1,2\r\n"), k);
  EXPECT_EQ(t.id_name, "id");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"v"}));
  EXPECT_EQ(t.ids, (std::vector<std::string>{"1"}));
}

TEST(MakeRowGroups, MovieLensUsers) {
  const std::string users = "/work/shared/data/movielens-100k/u.user";
  const std::string data = "/work/shared/data/movielens-100k/u.data";
  if (!std::filesystem::exists(users) || !std::filesystem::exists(data))
    GTEST_SKIP() << "MovieLens 100k not found under /work/shared/data (not redistributable)";
  AttributeReadOptions o;
  o.names = kUserNames;
  const auto t = read_attribute_table(users, o);
  EXPECT_EQ(t.rows(), 943u);
  const auto e = read_triplets(data);
  const auto r = make_row_groups(t, e.row_ids, {"gender", "occupation", "age"}, {{"age", {0, 25, 35, 45, 100}}});
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(group(r, "gender=F").size(), 273u);  // Python: Counter over u.user
  EXPECT_EQ(group(r, "gender=M").size(), 670u);
  EXPECT_EQ(group(r, "age=[25,35)").size(), 310u);
  EXPECT_EQ(r.groups.size(), 2u + 21u + 4u);
}

}  // namespace
}  // namespace lowrank::io
