//! Single sign-on's refusals: each has a code (what the callback puts in the
//! sign-in page's URL, `/sign-in?error=…`) and the words the page shows.

/// Why a sign-in through the OpenID provider did not sign anyone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOnError {
    /// The callback's `state` names no sign-in begun in this browser (forged,
    /// from another browser, or used already).
    State,
    /// The sign-in was begun too long ago.
    TooSlow,
    /// The provider answered with an error instead of a code.
    ProviderRefused,
    /// The provider did not accept the code (used already, or expired).
    Code,
    /// The provider could not be reached, or its answer could not be read.
    Unavailable,
    /// The ID token's audience is not this service alone.
    Audience,
    /// The ID token has expired.
    TokenExpired,
    /// The ID token is not for this sign-in (another nonce).
    Nonce,
    /// The ID token was issued by another provider.
    Issuer,
    /// The ID token's signature (or anything else about it) did not verify.
    Token,
    /// The claim the user name comes from is missing.
    NoName,
    /// The claim's value cannot be a user name here.
    BadName,
    /// The email's domain is not among those allowed.
    Domain,
    /// The user is in none of the groups allowed.
    Group,
    /// The user is disabled.
    Disabled,
    /// A user of that name exists, and the name is not one this provider
    /// vouches for (see `backend::sso::user_for`).
    NameTaken,
}

impl SignOnError {
    /// Every refusal.
    pub const ALL: [SignOnError; 16] = [
        Self::State,
        Self::TooSlow,
        Self::ProviderRefused,
        Self::Code,
        Self::Unavailable,
        Self::Audience,
        Self::TokenExpired,
        Self::Nonce,
        Self::Issuer,
        Self::Token,
        Self::NoName,
        Self::BadName,
        Self::Domain,
        Self::Group,
        Self::Disabled,
        Self::NameTaken,
    ];

    /// The code in the sign-in page's URL.
    pub fn code(self) -> &'static str {
        match self {
            Self::State => "state",
            Self::TooSlow => "too-slow",
            Self::ProviderRefused => "provider-refused",
            Self::Code => "code",
            Self::Unavailable => "unavailable",
            Self::Audience => "audience",
            Self::TokenExpired => "token-expired",
            Self::Nonce => "nonce",
            Self::Issuer => "issuer",
            Self::Token => "token",
            Self::NoName => "no-name",
            Self::BadName => "bad-name",
            Self::Domain => "domain",
            Self::Group => "group",
            Self::Disabled => "disabled",
            Self::NameTaken => "name-taken",
        }
    }

    /// The refusal a code names.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }

    /// What the sign-in page says.
    pub fn message(self) -> &'static str {
        match self {
            Self::State => {
                "This sign-in does not match one begun in this browser (it was used already, or did not \
                 start here). Start again."
            }
            Self::TooSlow => "The sign-in took too long. Start again.",
            Self::ProviderRefused => "The sign-in provider did not sign you in.",
            Self::Code => {
                "The sign-in provider did not accept the sign-in code: it was used already or has expired. \
                 Start again."
            }
            Self::Unavailable => "The sign-in provider cannot be reached right now. Try again in a moment.",
            Self::Audience => {
                "The sign-in provider's ID token was not issued for Atelier alone (wrong audience)."
            }
            Self::TokenExpired => "The sign-in provider's ID token has expired. Start again.",
            Self::Nonce => "The sign-in provider's ID token belongs to another sign-in (its nonce differs).",
            Self::Issuer => "The ID token was issued by another provider than the one configured.",
            Self::Token => "The sign-in provider's ID token did not verify.",
            Self::NoName => {
                "The sign-in provider did not say who you are (the claim for your user name is missing)."
            }
            Self::BadName => {
                "Your name from the sign-in provider cannot be a user name here (letters, digits, - and _ \
                 only). Ask an administrator."
            }
            Self::Domain => "Your email address's domain may not sign in here.",
            Self::Group => "You are in none of the groups allowed to sign in here.",
            Self::Disabled => "Your account is disabled. Ask an administrator.",
            Self::NameTaken => {
                "A user of your name already exists here and was not made by this sign-in provider. Ask an \
                 administrator."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_differ() {
        let mut codes: Vec<&str> = SignOnError::ALL.iter().map(|e| e.code()).collect();
        for e in SignOnError::ALL {
            assert_eq!(SignOnError::from_code(e.code()), Some(e));
            assert!(e.message().ends_with('.'), "{e:?}");
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), SignOnError::ALL.len());
        assert_eq!(SignOnError::from_code("nonsense"), None);
    }
}
