//! Page tokens: opaque to clients (the REST API's `pageToken`, the home
//! page's `?page=`), a position in the owner's list to the server. An HTTP
//! concern of both edges; the services speak of positions.

/// The token for "after position `seq`".
pub fn encode(seq: i64) -> String {
    hex::encode(format!("ws-page:{seq}"))
}

/// The position a token names, if it is one we gave out.
pub fn decode(token: &str) -> Option<i64> {
    let bytes = hex::decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("ws-page:")?.parse().ok().filter(|n: &i64| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_positions_and_nothing_else() {
        assert_eq!(decode(&encode(42)), Some(42));
        assert_eq!(decode("42"), None);
        assert_eq!(decode(&encode(0)), None);
        assert_eq!(decode(&hex::encode("other:7")), None);
    }
}
