//! A small built-in list of commonly used passwords of twelve characters or
//! more (the shortest Keyward accepts), from the lists that breached
//! password corpora keep showing: a new password on it is refused. Compared
//! lowercased.

/// The list, lowercased.
const COMMON: &[&str] = &[
    "000000000000",
    "0000000000000",
    "00000000000000",
    "098765432109",
    "1111111111111",
    "111111111111",
    "112233445566",
    "121212121212",
    "123123123123",
    "123321123321",
    "12345678901",
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "123456123456",
    "123456654321",
    "1234567890qwe",
    "1234567890qwerty",
    "123456789abc",
    "123456789qwe",
    "123qweasdzxc",
    "1q2w3e4r5t6y",
    "1q2w3e4r5t6y7u",
    "1qaz2wsx3edc",
    "1qaz2wsx3edc4rfv",
    "1qazxsw23edc",
    "147258369147",
    "159357159357",
    "192837465564",
    "222222222222",
    "987654321098",
    "987654321987",
    "abc123abc123",
    "abcd12345678",
    "abcdefghijkl",
    "abcdefghijklm",
    "abcdef123456",
    "administrator",
    "administrator1",
    "admin1234567",
    "admin123456789",
    "adminadmin123",
    "asdfghjkl123",
    "asdfghjkl;'",
    "asdfasdfasdf",
    "baseball1234",
    "basketball12",
    "changeme1234",
    "changeme123!",
    "computer1234",
    "dragon123456",
    "football1234",
    "football12345",
    "iloveyou1234",
    "iloveyouiloveyou",
    "internet1234",
    "jennifer1234",
    "letmein12345",
    "letmeinletmein",
    "michael12345",
    "monkey123456",
    "mustang12345",
    "p@ssw0rd1234",
    "p@ssword1234",
    "pass12345678",
    "passw0rd1234",
    "passw0rd123!",
    "password0000",
    "password1111",
    "password1234",
    "password12345",
    "password123456",
    "password123!",
    "password2020",
    "password2021",
    "password2022",
    "password2023",
    "password2024",
    "password2025",
    "password2026",
    "passwordpassword",
    "password!123",
    "princess1234",
    "q1w2e3r4t5y6",
    "qazwsxedcrfv",
    "qazwsxedcrfvtgb",
    "qwerty123456",
    "qwerty1234567",
    "qwertyqwerty",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwertyuiopas",
    "qwertyuiopasdf",
    "qwertyuiop[]",
    "starwars1234",
    "summer123456",
    "sunshine1234",
    "superman1234",
    "trustno1trustno1",
    "welcome12345",
    "welcome123456",
    "whatever1234",
    "winter123456",
    "zaq12wsxcde3",
    "zxcvbnm12345",
    "zxcvbnmasdfg",
];

/// Whether `lowercased` is on the list.
pub fn is_common(lowercased: &str) -> bool {
    COMMON.contains(&lowercased)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_lowercase_and_long_enough_to_matter() {
        for p in COMMON {
            assert_eq!(*p, p.to_lowercase());
            assert!(p.chars().count() >= 11, "{p}");
        }
        assert!(is_common("password1234") && !is_common("correct horse battery staple"));
    }
}
