//! Every difference between SQLite's and PostgreSQL's SQL, in one table per
//! backend. Statements are written once, in the SQL both backends share,
//! and take what differs from the [`Dialect`] of the backend they run on
//! (the `on_pool!`/`on_tx!` macros of [`super::conn`] hand it over).

/// The SQL that differs between the backends.
#[derive(Debug)]
pub struct Dialect {
    /// The current time as stored (UTC RFC 3339 text with milliseconds).
    pub now: &'static str,
    /// Case-insensitive `LIKE` (SQLite's `LIKE` already is for ASCII).
    pub like_any_case: &'static str,
    /// What a claim's subquery adds so instances claiming at once skip each
    /// other's rows (SQLite's single `UPDATE` is atomic by itself).
    pub skip_locked: &'static str,
    /// The aggregate that reads a page of rows as one JSON array in one row,
    /// each row an array of the columns given, where the backend wants it:
    /// SQLite's driver hands rows over between threads one at a time, and a
    /// page is many rows; PostgreSQL's rows come over one connection as they are.
    pub json_page: Option<fn(&str) -> String>,
    /// Whether `INSERT … RETURNING` may stand in a `WITH` (PostgreSQL's
    /// data-modifying `WITH`; SQLite has none): several writes and reads in
    /// one statement, one round trip.
    pub writes_in_with: bool,
    /// The aggregate that reads rows as one JSON text, an array of arrays of the columns given (`[]` for none).
    json_list: fn(&str) -> String,
    /// The same, `secs` (an SQL expression) seconds from now.
    now_plus: fn(&str) -> String,
    /// Seconds from one stored time (an SQL expression) to another.
    seconds_between: fn(&str, &str) -> String,
    /// The text values of a JSON array parameter, as a subquery of one column, `value`.
    json_texts: fn(&str) -> String,
    /// The elements of a JSON array parameter as rows `(value, key)`, for a FROM clause.
    json_rows: fn(&str) -> String,
    /// Whether a column's value is one of a JSON array parameter's texts.
    in_json_texts: fn(&str, &str) -> String,
}

impl Dialect {
    /// The current time `secs` (an SQL expression, may be negative) seconds from now.
    pub fn now_plus(&self, secs: &str) -> String {
        (self.now_plus)(secs)
    }

    /// Seconds from the stored time `from` to the stored time `to` (SQL expressions).
    pub fn seconds_between(&self, from: &str, to: &str) -> String {
        (self.seconds_between)(from, to)
    }

    /// The rows' `columns` (SQL expressions) as one JSON text: an array of arrays, `[]` for no rows.
    pub fn json_list(&self, columns: &str) -> String {
        (self.json_list)(columns)
    }

    /// `SELECT` of the text elements of the JSON array in `param`.
    pub fn json_texts(&self, param: &str) -> String {
        (self.json_texts)(param)
    }

    /// FROM-clause rows `(value, key)` of the JSON array in `param`, `key` its position.
    pub fn json_rows(&self, param: &str) -> String {
        (self.json_rows)(param)
    }

    /// A condition: `column` is one of the texts of the JSON array in
    /// `param`, looked up in an index on `column` however large the table.
    pub fn in_json_texts(&self, column: &str, param: &str) -> String {
        (self.in_json_texts)(column, param)
    }
}

/// SQLite's SQL.
pub static SQLITE: Dialect = Dialect {
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    like_any_case: "LIKE",
    skip_locked: "",
    json_page: Some(|columns| format!("json_group_array(json_array({columns}))")),
    writes_in_with: false,
    json_list: |columns| format!("json_group_array(json_array({columns}))"),
    now_plus: |secs| format!("strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ({secs}) || ' seconds')"),
    seconds_between: |from, to| format!("(julianday({to}) - julianday({from})) * 86400.0"),
    json_texts: |param| format!("SELECT value FROM json_each({param})"),
    json_rows: |param| format!("json_each({param})"),
    in_json_texts: |column, param| format!("{column} IN (SELECT value FROM json_each({param}))"),
};

/// PostgreSQL's SQL.
pub static POSTGRES: Dialect = Dialect {
    now: "atelier_ts(now())",
    like_any_case: "ILIKE",
    skip_locked: "FOR UPDATE SKIP LOCKED",
    json_page: None,
    writes_in_with: true,
    json_list: |columns| format!("CAST(COALESCE(json_agg(json_build_array({columns})), '[]') AS TEXT)"),
    now_plus: |secs| format!("atelier_ts(now() + make_interval(secs => ({secs})))"),
    seconds_between: |from, to| format!("EXTRACT(EPOCH FROM ({to}::timestamptz - {from}::timestamptz))"),
    json_texts: |param| format!("SELECT jsonb_array_elements_text(({param})::jsonb) AS value"),
    json_rows: |param| format!("jsonb_array_elements(({param})::jsonb) WITH ORDINALITY AS rows (value, key)"),
    // As an array, so the planner looks each value up in the index instead
    // of joining against every row of the table.
    in_json_texts: |column, param| {
        format!("{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(({param})::jsonb)))")
    },
};

/// `'a', 'b'`: texts as an SQL list, for conditions on stored enum values
/// (`state IN (…)`). The values are the enums' own `as_str`, never input.
pub fn text_list<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    values.into_iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
}
