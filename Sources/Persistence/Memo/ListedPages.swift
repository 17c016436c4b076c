/// How much a listing (`GET /v1/generations`, `GET /v1/assets`) carries in one page. A page holds
/// at most `limit` items, and ends before that where its large texts (prompts, answers, chat
/// parameters, descriptions) pass `maximumBytes`; its first item always comes, and `next_cursor`
/// continues after its last. Without it a hundred rows of near-megabyte prompts made a page of
/// ~160 MB, held while a slow client read it.
public enum ListedPages {
    public static let maximumBytes = 4 << 20
}
