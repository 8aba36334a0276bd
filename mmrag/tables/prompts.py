"""Prompt text for table question answering: the instructions and hand-written few-shot examples."""
from __future__ import annotations

SYSTEM = (
    "You write one DuckDB SQL query that answers a question about a table. The table is named t; "
    "row_id is the row order (1 = first row), use it for first/last/next/previous/above/below. "
    "Quote column names with double quotes. Compare text with the exact values shown. "
    "Select only the column that answers the question. Reply with the SQL only."
)
READ_SYSTEM = (
    "Do not write SQL now: answer the question by reading the table above. Reply with the answer only: "
    "the exact cell text, or a number; several answers separated by ' | '."
)


def _ex(columns: str, question: str, matches: str = "") -> str:
    m = f"\nValues matching the question: {matches}" if matches else ""
    return f'Columns of t:\n"row_id" INTEGER\n{columns}{m}\nQuestion: {question}'


# Hand-written examples (not taken from any evaluation set), in the format of real prompts.
FEW_SHOT: list[tuple[str, str]] = [
    (_ex('"Season" VARCHAR: \'1998–99\', \'1999–00\'\n"Club" VARCHAR: \'Lakeside FC\', \'Harbor United\'\n'
         '"Goals" BIGINT: 12, 7, 21', "how many goals did he score in total for harbor united?",
         '"Club": \'Harbor United\''),
     'SELECT SUM("Goals") FROM t WHERE "Club" = \'Harbor United\''),
    (_ex('"Rank" BIGINT: 1, 2, 3\n"Athlete" VARCHAR: \'Mia Berg\', \'Ana Lotz\', \'Ivo Kral\'\n'
         '"Country" VARCHAR: \'Norway\', \'Germany\'', "who finished right after ana lotz?", '"Athlete": \'Ana Lotz\''),
     'SELECT "Athlete" FROM t WHERE row_id = (SELECT row_id + 1 FROM t WHERE "Athlete" = \'Ana Lotz\')'),
    (_ex('"Year" BIGINT: 2004, 2005, 2006\n"Film" VARCHAR: \'The Long Road\', \'Blue Harbor\'\n'
         '"Role" VARCHAR: \'Anna\', \'Herself\'', "in which year did she appear in the most films?"),
     'SELECT "Year" FROM t GROUP BY "Year" ORDER BY COUNT(*) DESC LIMIT 1'),
    (_ex('"Team" VARCHAR: \'Rovers\', \'City\', \'Athletic\'\n"Points" BIGINT: 40, 38, 31',
         "how many more points did rovers earn than athletic?", '"Team": \'Rovers\'; "Team": \'Athletic\''),
     'SELECT (SELECT "Points" FROM t WHERE "Team" = \'Rovers\') - (SELECT "Points" FROM t WHERE "Team" = \'Athletic\')'),
    (_ex('"Name" VARCHAR: \'Lake Oren\', \'Lake Sava\'\n"Depth" DOUBLE: 2.0, 15.0\n"Area" BIGINT: 120, 45',
         "which is deeper, lake oren or lake sava?", '"Name": \'Lake Oren\'; "Name": \'Lake Sava\''),
     'SELECT "Name" FROM t WHERE "Name" IN (\'Lake Oren\', \'Lake Sava\') ORDER BY "Depth" DESC LIMIT 1'),
    (_ex('"Player" VARCHAR: \'J. Ortiz\', \'P. Laine\'\n"Nationality" VARCHAR: \'Canada\', \'Finland\'\n'
         '"Goals" BIGINT: 3, 0', "how many players are from canada?", '"Nationality": \'Canada\''),
     'SELECT COUNT(*) FROM t WHERE "Nationality" = \'Canada\''),
    (_ex('"Date" DATE: \'2011-03-05\', \'2011-03-12\'\n"Venue" VARCHAR: \'Oslo\', \'Rome\'\n"Result" VARCHAR: \'W\', \'L\'',
         "what was the last venue?"),
     'SELECT "Venue" FROM t ORDER BY row_id DESC LIMIT 1'),
]
