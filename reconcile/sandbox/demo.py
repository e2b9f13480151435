"""The demo school: a realistic French élémentaire, the same for the same seed.

It is built once per process and seed in memory, then copied into each new state
file with SQLite's backup API, so that a test gets a fresh school in milliseconds.
"""

from __future__ import annotations

import random
import sqlite3
import threading

from reconcile.sandbox.records import ADULT, PUPIL
from reconcile.sandbox.store import Store, memory_store

SCHOOLS = (
    "École élémentaire Jules Ferry",
    "École élémentaire Jean de La Fontaine",
    "École élémentaire Marie Curie",
    "École élémentaire Les Tilleuls",
)

# (class, number of pupils, its teacher): 180 pupils.
CLASSES = (
    ("GS", 22, ("Isabelle", "Ménard")),
    ("CP", 24, ("Thierry", "Le Goff")),
    ("CE1", 25, ("Françoise", "D'Almeida")),
    ("CE2", 23, ("Jérôme", "Lemaître")),
    ("CE2-CM1", 22, ("Élodie", "Saint-Martin")),
    ("CM1", 25, ("Benoît", "Rousseau")),
    ("CM2", 27, ("Nathalie", "Vasseur")),
    ("ULIS", 12, ("Aurélie", "Fauré")),
)

# Adults responsible for no class: the director, an ATSEM, an AESH.
OTHER_ADULTS = (("Martine", "Château"), ("Josiane", "Lebœuf"), ("Karima", "Benali"))

# Pupils every demo school has, whatever the seed: the names a client must survive.
SPECIAL_PUPILS = (
    ("Léa", "Martin", "CE1"),
    ("Léa", "Martin", "CM2"),  # a homonym in another class
    ("Łukasz", "Kowalski", "CE2"),  # outside Latin-1
    ("Minh", "Nguyễn", "CM1"),  # outside Latin-1
    ("Jean-Baptiste", "De La Fontaine", "CP"),
    ("Awa", "N'Diaye", "CE2-CM1"),
    ("Zoé", "Lefèvre-Dubois", "GS"),
    ("Gaëlle", "Le Bihan", "CM2"),
    ("Noémie", "Cœur", "CE1"),
    ("Maël", "O'Sullivan", "ULIS"),
)

FIRST_NAMES = (
    "Emma", "Jade", "Louise", "Alice", "Chloé", "Inès", "Léna", "Manon", "Lina", "Rose", "Anna",
    "Ambre", "Mila", "Juliette", "Léonie", "Maëlys", "Héloïse", "Anaïs", "Clémence", "Éloïse",
    "Agathe", "Célia", "Yasmine", "Aïcha", "Fatoumata", "Thaïs", "Salomé", "Ève", "Margaux",
    "Gabriel", "Léo", "Raphaël", "Arthur", "Louis", "Jules", "Adam", "Maël", "Lucas", "Hugo",
    "Noah", "Sacha", "Gabin", "Nathan", "Timothée", "Aurélien", "Clément", "Mathéo", "Noé",
    "Loïc", "Jérémie", "Théo", "Rayan", "Wassim", "Yanis", "Ibrahim", "Moussa", "Mamadou",
    "Anh", "Kenji", "Pierre-Louis", "Marie-Lou", "Jean-Noël", "Anne-Sophie", "Benoît", "Joël",
)  # fmt: skip

LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet",
    "François", "Martinez", "Diallo", "Traoré", "Da Silva", "Le Bihan", "Ménard", "Bénard",
    "Pâris", "Lemaître", "Hébert", "Lévêque", "Crémieux", "Côté", "Gérard", "Boucher", "Barbier",
    "Benali", "El Amrani", "Ben Salah", "N'Guessan", "D'Almeida", "De Oliveira", "Le Floch",
    "Saint-Jean", "Faure", "Perrin", "Chevalier", "Marchand", "Masson", "Brun", "Carré", "Noël",
)  # fmt: skip


def _png(rng: random.Random, size: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + rng.randbytes(size)


def _jpeg(rng: random.Random, size: int) -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(size) + b"\xff\xd9"


def build_demo_school(seed: int) -> Store:
    """The demo school for `seed`, in memory."""
    rng = random.Random(f"demo:{seed}")
    store = memory_store(seed)
    with store._transaction() as db:
        db.execute("UPDATE settings SET value = ? WHERE key = 'school'", (rng.choice(SCHOOLS),))
    for first_name, last_name in OTHER_ADULTS:
        store.add_user(first_name, last_name, ADULT)
    for class_name, _, (first_name, last_name) in CLASSES:
        teacher = store.add_user(first_name, last_name, ADULT)
        store.add_class(class_name, teacher.login)

    specials: dict[str, list[tuple[str, str]]] = {}
    for first_name, last_name, class_name in SPECIAL_PUPILS:
        specials.setdefault(class_name, []).append((first_name, last_name))
    used = {(first, last) for first, last, _ in SPECIAL_PUPILS}
    for class_name, size, _ in CLASSES:
        names = list(specials.get(class_name, []))
        while len(names) < size:
            name = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
            if name not in used:
                used.add(name)
                names.append(name)
        rng.shuffle(names)
        for first_name, last_name in names:
            store.add_user(first_name, last_name, PUPIL, class_name)

    store.add_file("CM2", "cahier-de-vie.txt", "Lundi : rentrée des CM2.\nMardi : piscine.\n".encode())
    store.add_file(
        "CM2",
        "Exposés/Les volcans.txt",
        "Les volcans d'Auvergne\n\nLe puy de Dôme culmine à 1 465 m.\n".encode(),
    )
    store.add_file("CM2", "Exposés/Le système solaire.odp", b"PK\x03\x04" + rng.randbytes(3000))
    store.add_file("CM2", "Photos/Classe de découverte/photo-01.jpg", _jpeg(rng, 6000))
    store.add_file("CM2", "Photos/Classe de découverte/photo-02.jpg", _jpeg(rng, 4500))
    store.add_file(
        "CE1",
        "Poésies/Le Corbeau et le Renard.txt",
        "Maître Corbeau, sur un arbre perché,\nTenait en son bec un fromage.\n".encode(),
    )
    store.add_file("CE1", "Dessins/soleil.png", _png(rng, 2000))
    store.add_common_file("Règlement intérieur.txt", b"Article 1 : on se respecte.\n")
    store.add_common_file("Menus de la cantine.pdf", b"%PDF-1.4\n" + rng.randbytes(1500))
    return store


_templates: dict[int, Store] = {}
_templates_lock = threading.Lock()


def copy_demo_school(target: sqlite3.Connection, seed: int) -> None:
    """Writes the demo school for `seed` into `target` (built on first use in this process)."""
    with _templates_lock:
        template = _templates.get(seed)
        if template is None:
            template = _templates[seed] = build_demo_school(seed)
        with template._lock:
            template._db.backup(target)
