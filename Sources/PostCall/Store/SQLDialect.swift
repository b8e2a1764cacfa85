/// The few places where SQLite's SQL and PostgreSQL's differ, as the store writes them.
public enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// Pins an index after a table name. SQLite, without statistics, may otherwise walk the whole
    /// history; PostgreSQL's planner has statistics and takes no hint.
    func indexedBy(_ index: String) -> String {
        self == .sqlite ? "INDEXED BY \(index)" : ""
    }

    /// Locks the rows a claim reads, skipping those another worker's transaction holds, so many
    /// workers claim different events at once. SQLite has one writer at a time and needs none.
    var lockSkippingLocked: String {
        self == .sqlite ? "" : "FOR UPDATE SKIP LOCKED"
    }

    /// The scalar (not aggregate) larger of two values, and the smaller.
    var greatest: String { self == .sqlite ? "max" : "greatest" }
    var least: String { self == .sqlite ? "min" : "least" }

    /// A JSON array made of the listed columns.
    var jsonArray: String { self == .sqlite ? "json_array" : "json_build_array" }

    /// `IN` a JSON array of event ids bound at `placeholder`: one statement for any number of ids.
    /// PostgreSQL gets an array, looked up id by id in the primary key: as a semi-join it would
    /// hash the ids and scan the whole table.
    func inIDs(_ placeholder: String) -> String {
        switch self {
        case .sqlite: "IN (SELECT value FROM json_each(\(placeholder)))"
        case .postgres: "= ANY (ARRAY(SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(\(placeholder) AS JSON))))"
        }
    }
}
