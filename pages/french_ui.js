// Streamlit's own words in French: the texts and accessible names its widgets build in English (file uploader,
// number inputs, selects, tabs, sidebar, data frame toolbar…). Streamlit has no locale setting: this script, put on
// every page once by pages/common.py (french_interface), translates them as they appear. Static: no data in it.
// Only whole texts listed here are replaced, and never inside the app's own text (markdown, captions, code).
(() => {
  if (window.__cstiFrench) return;
  window.__cstiFrench = true;
  const UNITS = { B: "o", KB: "ko", MB: "Mo", GB: "Go" };
  const size = (n, unit) => `${n.replace(".", ",")} ${UNITS[unit]}`;
  const EXACT = {
    // File uploader.
    "Upload": "Parcourir",
    "Upload directories": "Parcourir les dossiers",
    "Drag and drop a file here": "Glissez-déposez un fichier ici",
    "Drag and drop files here": "Glissez-déposez des fichiers ici",
    "Drag and drop directories here": "Glissez-déposez des dossiers ici",
    "file upload": "Déposer un fichier",
    "Add files": "Ajouter des fichiers",
    "Delete": "Supprimer",
    "Error deleting file": "Le fichier n'a pas pu être retiré",
    // Text, number, select and multiselect inputs.
    "Press Enter to apply": "Entrée pour valider",
    "Press Enter to submit form": "Entrée pour envoyer le formulaire",
    "Clear value": "Effacer",
    "Clear entry": "Effacer",
    "Clear all": "Tout effacer",
    "Clear": "Effacer",
    "Increment": "Augmenter",
    "Decrement": "Diminuer",
    "Open": "Ouvrir la liste",
    "Selected values": "Valeurs choisies",
    "Select...": "Choisir…",
    "Choose an option": "Choisir une option",
    "Choose options": "Choisir des options",
    "No results": "Aucun résultat",
    "No options": "Aucune option",
    "No options to select": "Aucune option à choisir",
    "No options to select.": "Aucune option à choisir.",
    "Choose date": "Choisir une date",
    "Choose date range": "Choisir une période",
    "Clear date": "Effacer la date",
    "Clear dates": "Effacer les dates",
    "Previous month": "Mois précédent",
    "Next month": "Mois suivant",
    // Page frame.
    "Running...": "Calcul en cours…",
    "Stop": "Arrêter",
    "Main menu": "Menu principal",
    "Collapse sidebar": "Replier le panneau latéral",
    "Expand sidebar": "Déplier le panneau latéral",
    "Sidebar": "Panneau latéral",
    "App pages": "Pages de l'application",
    "Skip to main content": "Aller au contenu principal",
    "Navigate to home page": "Aller à la page d'accueil",
    "Scroll tabs left": "Onglets précédents",
    "Scroll tabs right": "Onglets suivants",
    "Close": "Fermer",
    "Link to heading": "Lien vers ce titre",
    "Rerun": "Relancer",
    "Print": "Imprimer",
    "Clear cache": "Vider le cache",
    "About": "À propos",
    "Settings": "Réglages",
    "Notifications": "Notifications",
    "Script execution error": "Erreur d'exécution de la page",
    "Connecting": "Connexion…",
    "Connection error": "Connexion perdue",
    "Please wait...": "Veuillez patienter…",
    "Streamlit server is not responding. Are you connected to the internet?": "Le serveur ne répond pas. Êtes-vous connecté·e à Internet ?",
    "Page not found": "Page introuvable",
    "The page that you have requested does not seem to exist. Running the app's main page.":
      "Cette page n'existe pas : voici la page d'accueil.",
    "Try again": "Réessayer",
    // Data frames: toolbar, search, column menu.
    "Download as CSV": "Télécharger en CSV",
    "Search": "Rechercher",
    "Close Search": "Fermer la recherche",
    "Next Result": "Résultat suivant",
    "Previous Result": "Résultat précédent",
    "Fullscreen": "Plein écran",
    "Close fullscreen": "Quitter le plein écran",
    "Show/hide columns": "Afficher ou masquer des colonnes",
    "Dataframe column menu": "Menu de la colonne",
    "Copy column name": "Copier le nom de la colonne",
    "Sort ascending": "Trier par ordre croissant",
    "Sort descending": "Trier par ordre décroissant",
    "Pin column": "Épingler la colonne",
    "Unpin column": "Désépingler la colonne",
    "Hide column": "Masquer la colonne",
    "Autosize": "Largeur automatique",
    "Format": "Format",
    "Select all": "Tout choisir",
    "Clear selection": "Effacer la sélection",
    "Add row": "Ajouter une ligne",
    "Delete row(s)": "Supprimer les lignes",
    "Copy to clipboard": "Copier dans le presse-papiers",
    "No data": "Aucune donnée",
    "Empty": "Vide",
  };
  const PATTERNS = [
    [/^Help for (.+)$/s, (_, what) => `Aide : ${what}`],
    [/^([\d.,]+)\s?(B|KB|MB|GB) per file(.*)$/s, (_, n, unit, rest) => `${size(n, unit)} au plus par fichier${rest}`],
    // A file dropped: its size, alone (visible) or after its name (the chip's accessible name).
    [/^([\d.,]+)\s?(B|KB|MB|GB)$/, (_, n, unit) => size(n, unit)],
    [/^(.+), ([\d.,]+)\s?(B|KB|MB|GB)$/s, (_, name, n, unit) => `${name}, ${size(n, unit)}`],
    [/^You have requested page \/(.*), but no corresponding file was found in the app's pages\/ directory$/s,
      (_, page) => `La page « ${page} » n'existe pas.`],
    [/^Remove (.+)$/s, (_, what) => `Retirer ${what}`],
    [/^(.+) start date$/s, (_, what) => `${what} : date de début`],
    [/^(.+) end date$/s, (_, what) => `${what} : date de fin`],
  ];
  const ATTRIBUTES = ["aria-label", "title", "placeholder", "aria-valuetext"];
  // The app's own words (already French) are never touched, even when they happen to match.
  const OWN_TEXT = '[data-testid="stMarkdown"], [data-testid="stCaptionContainer"], [data-testid="stText"], [data-testid="stCode"], [data-testid="stHtml"]';

  const french = (text) => {
    const key = text.trim();
    if (!key) return null;
    if (Object.hasOwn(EXACT, key)) return text.replace(key, EXACT[key]);
    for (const [pattern, make] of PATTERNS) {
      if (pattern.test(key)) return text.replace(key, key.replace(pattern, make));
    }
    return null;
  };
  // Sliders write their numbers with a decimal point (20.00): French puts a comma.
  const SLIDER_NUMBERS = '[data-testid="stSliderThumbValue"], [data-testid="stSliderTickBar"]';
  const decimalComma = (text) => text.replace(/(\d)\.(\d)/g, "$1,$2");
  const translateText = (node) => {
    const parent = node.parentElement;
    if (!parent || parent.closest(OWN_TEXT) || parent.closest("script, style")) return;
    if (parent.closest(SLIDER_NUMBERS)) {
      const comma = decimalComma(node.nodeValue);
      if (comma !== node.nodeValue) node.nodeValue = comma;
      return;
    }
    const done = french(node.nodeValue);
    if (done !== null && done !== node.nodeValue) node.nodeValue = done;
  };
  const translateElement = (el) => {
    const said = el.getAttribute("aria-valuetext");
    if (said !== null && /^-?\d+\.\d+$/.test(said)) el.setAttribute("aria-valuetext", decimalComma(said));
    for (const name of ATTRIBUTES) {
      const value = el.getAttribute(name);
      if (value === null) continue;
      const done = french(value);
      if (done !== null && done !== value) el.setAttribute(name, done);
    }
  };
  const translateTree = (root) => {
    if (root.nodeType === Node.TEXT_NODE) return translateText(root);
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    translateElement(root);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) translateText(node);
      else translateElement(node);
    }
  };
  document.documentElement.lang = "fr";
  translateTree(document.body);
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "childList") record.addedNodes.forEach(translateTree);
      else if (record.type === "characterData") translateText(record.target);
      else translateElement(record.target);
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRIBUTES });
})();
